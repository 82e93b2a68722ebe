// Client-side routes on the History API; the server answers index.html for
// every path outside /api/ (src/http/static.c).
import { signal } from './signal';

export const location = signal(window.location.pathname);

window.addEventListener('popstate', () => location.set(window.location.pathname));

export function navigate(path: string): void {
  if (path === window.location.pathname) return;
  history.pushState(null, '', path);
  location.set(path);
}

/* The app's routes. */
export type Route =
  | { name: 'projects' }
  | { name: 'annotate'; project: number }
  | { name: 'review'; project: number }
  | { name: 'project'; project: number }
  | { name: 'new-project' };

export function parseRoute(path: string): Route {
  const m = /^\/projects\/(\d+)\/annotate$/.exec(path);
  if (m) return { name: 'annotate', project: Number(m[1]) };
  const rv = /^\/projects\/(\d+)\/review$/.exec(path);
  if (rv) return { name: 'review', project: Number(rv[1]) };
  if (path === '/projects/new') return { name: 'new-project' };
  const pm = /^\/projects\/(\d+)$/.exec(path);
  if (pm) return { name: 'project', project: Number(pm[1]) };
  return { name: 'projects' }; /* "/", "/projects", and anything unknown */
}
