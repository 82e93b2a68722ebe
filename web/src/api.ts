// The API client: cookie session + X-CSRF-Token (docs/api.md, Authentication).
// The session cookie is HttpOnly; the CSRF token and the user object live in
// sessionStorage (this tab only) and never in localStorage. A 401 on any
// call (an expired session) asks for a login in place and then retries the
// call once, so a pending save is not lost.
import { signal } from './signal';

export interface User {
  id: number;
  login: string;
  name: string;
  role: string;
  org: { id: number; name: string };
}

export interface Counts {
  total: number;
  open: number;
  in_progress: number;
  done: number;
}

export interface Project {
  id: number;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  overlap: number;
  lease_seconds: number;
  counts: Counts;
  /* users holding a live lease now (docs/api.md, Projects) */
  active_annotators?: number;
}

export interface Assignment {
  id: number;
  kind: string;
  lease_until: string;
  draft: unknown;
}

export interface Task {
  id: number;
  project: number;
  key: string | null;
  data: Record<string, unknown>;
}

export interface Claim {
  assignment: Assignment;
  task: Task;
}

const CSRF_KEY = 'annotd.csrf';
const USER_KEY = 'annotd.user';

/* A reply other than 2xx: status, the error body's code and message. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public path?: string,
    public retryAfter?: number,
    public body?: unknown,
  ) {
    super(message);
  }
}

/* The server could not be reached (offline, refused, reset). */
export class NetworkError extends Error {}

function loadUser(): User | null {
  try {
    const u = sessionStorage.getItem(USER_KEY);
    return u && sessionStorage.getItem(CSRF_KEY) ? (JSON.parse(u) as User) : null;
  } catch {
    return null;
  }
}

/* The logged-in user, or null (show the login screen). */
export const session = signal<User | null>(loadUser());
/* True while a call waits for the user to log in again (expired session). */
export const reauthNeeded = signal(false);
let reauthWaiters: Array<() => void> = [];

function waitForLogin(): Promise<void> {
  reauthNeeded.set(true);
  return new Promise((resolve) => reauthWaiters.push(resolve));
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = sessionStorage.getItem(CSRF_KEY);
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new NetworkError(String(e));
  }
}

async function parse<T>(r: Response): Promise<T | null> {
  if (r.status === 204) return null;
  let body: any = null;
  try {
    body = await r.json();
  } catch {
    if (!r.ok) throw new ApiError(r.status, 'unavailable', r.statusText || String(r.status));
    throw new NetworkError('the reply is not JSON');
  }
  if (r.ok) return body as T;
  const err = body && body.error ? body.error : {};
  const ra = Number(r.headers.get('Retry-After'));
  throw new ApiError(
    r.status,
    err.code || 'internal',
    err.message || r.statusText,
    err.path,
    Number.isFinite(ra) && ra > 0 ? ra : undefined,
    body,
  );
}

/*
 * Call the API; resolves with the parsed body (null for 204), rejects with
 * ApiError or NetworkError. A 401 waits for a new login and retries once.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T | null> {
  let r = await send(method, path, body);
  if (r.status === 401 && session.get()) {
    await waitForLogin();
    r = await send(method, path, body);
  }
  if (r.status === 401) {
    clearSession();
  }
  return parse<T>(r);
}

function clearSession(): void {
  sessionStorage.removeItem(CSRF_KEY);
  sessionStorage.removeItem(USER_KEY);
  session.set(null);
}

export async function login(loginName: string, password: string): Promise<User> {
  const r = await send('POST', '/api/v1/auth/login', { login: loginName, password });
  const body = await parse<{ csrf_token: string; user: User }>(r);
  if (!body) throw new ApiError(r.status, 'internal', 'empty reply');
  sessionStorage.setItem(CSRF_KEY, body.csrf_token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(body.user));
  session.set(body.user);
  if (reauthNeeded.get()) {
    reauthNeeded.set(false);
    const waiters = reauthWaiters;
    reauthWaiters = [];
    waiters.forEach((w) => w());
  }
  return body.user;
}

export async function logout(): Promise<void> {
  try {
    await send('POST', '/api/v1/auth/logout');
  } finally {
    clearSession();
  }
}

/* ---- project administration: settings, roles, review skip, novels (Project page) ---- */

export interface ProjectPatch {
  name?: string;
  config?: Record<string, unknown>;
  overlap?: number;
  lease_seconds?: number;
}

/* PATCH /projects/{id}: the project as GET answers it. */
export function patchProject(id: number, patch: ProjectPatch): Promise<Project | null> {
  return api<Project>('PATCH', `/api/v1/projects/${id}`, patch);
}

/* PATCH /users/{id}: role and/or name. */
export function patchUser(id: number, patch: { role?: string; name?: string }): Promise<User | null> {
  return api<User>('PATCH', `/api/v1/users/${id}`, patch);
}

/* Hand back the review lease held on an annotation ("skip"). */
export function releaseReview(annotationId: number): Promise<null> {
  return api<null>('POST', `/api/v1/annotations/${annotationId}/review/release`);
}

/* The CSRF header value for requests made without api() (XMLHttpRequest uploads). */
export function csrfToken(): string | null {
  return sessionStorage.getItem(CSRF_KEY);
}

export interface NovelUpload {
  novel: number;
  encoding: string;
  converted: string | null;
  stripped: Array<{ line: number; reason: string; text: string }>;
  chapters: Array<{ index: number; title: string; chars: number; scenes: number; utterances: number; shots: number }>;
  sync: { added: number; kept: number; redrafted: number; flagged: number };
  /* the drafter that ran; with an LLM drafter the drafting goes on as a background job */
  drafter?: { kind: string; model?: string; drafted?: number; fallbacks?: number; error?: string | null };
  job?: import('./live').Job | null;
}

export interface Novel {
  id: number;
  title: string;
  encoding: string;
  converted: string | null;
  chapters: Array<{ index: number; title: string; volume?: string | null; chars: number; scenes: number; shots: number; duration: number }>;
  totals: { shots: number; duration: number; target_seconds: number };
}

export interface CharacterSheet {
  appearance: string;
  costume: string;
  voice: string;
  references: string[];
}

export interface StoryCharacter {
  id: string;
  name: string;
  aliases: string[];
  sheet: CharacterSheet;
  lines: number;
  mentions: number;
  merged_into: string | null;
}

export interface StoryFlag {
  id: number;
  task_id: number;
  shot_id: string;
  reason: string;
  diff: unknown;
  created_at: string;
  resolved: boolean;
}

/*
 * POST /projects/{id}/novel with the raw .txt as the body (text/plain),
 * by XMLHttpRequest for its upload progress (0..1). Rejects with ApiError
 * or NetworkError like api().
 */
export function uploadNovel(
  projectId: number,
  file: Blob,
  t2s: boolean,
  onProgress: (fraction: number) => void,
): Promise<NovelUpload> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/projects/${projectId}/novel${t2s ? '?t2s=1' : ''}`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'text/plain');
    xhr.setRequestHeader('Accept', 'application/json');
    const csrf = csrfToken();
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.total > 0 ? e.loaded / e.total : 1);
    };
    xhr.onload = () => {
      let body: any = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) resolve(body as NovelUpload);
      else if (body && body.error)
        reject(new ApiError(xhr.status, body.error.code, body.error.message, body.error.path, undefined, body));
      else reject(new ApiError(xhr.status, xhr.status === 404 ? 'not_found' : 'internal', xhr.statusText || String(xhr.status)));
    };
    xhr.onerror = () => reject(new NetworkError('upload failed'));
    xhr.send(file);
  });
}
