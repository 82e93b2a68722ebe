// The storyboard endpoints the tool reads (issue 5), through the shared
// client (session cookie + X-CSRF-Token, a 401 asks for a login and retries).
import { ApiError, NetworkError, api, csrfToken } from '../../api';
import type { Job } from '../../live';

export interface Character {
  id: string;
  name: string;
  aliases?: string[];
  sheet?: Record<string, unknown>;
  lines?: number;
  mentions?: number;
  merged_into?: string | null;
}

export interface NovelChapter {
  index: number;
  title: string;
  shots: number;
  duration: number;
}

export interface Novel {
  chapters: NovelChapter[];
  totals: { shots: number; duration: number; target_seconds?: number | null };
}

export interface Flag {
  id: string | number;
  shot_id: string;
  reason: string;
  diff: unknown; /* "…[-removed-]{+added+}…" */
  resolved: boolean;
}

export async function characters(project: number): Promise<Character[]> {
  const r = await api<{ characters: Character[] }>('GET', `/api/v1/projects/${project}/characters`);
  return Array.isArray(r?.characters) ? r!.characters : [];
}

export async function addCharacter(project: number, name: string): Promise<Character | null> {
  return api<Character>('POST', `/api/v1/projects/${project}/characters`, { name, aliases: [] });
}

export async function novel(project: number): Promise<Novel | null> {
  return api<Novel>('GET', `/api/v1/projects/${project}/novel`);
}

export async function flags(task: number): Promise<Flag[]> {
  const r = await api<{ flags: Flag[] }>('GET', `/api/v1/tasks/${task}/flags`);
  return Array.isArray(r?.flags) ? r!.flags : [];
}

export async function resolveFlag(id: string | number): Promise<void> {
  await api('POST', `/api/v1/story/flags/${id}/resolve`);
}

/* ---- generated media per shot (issue 5, part 9) ---- */

export type MediaKind = 'first_frame' | 'last_frame' | 'clip';
export const MEDIA_KINDS: MediaKind[] = ['first_frame', 'last_frame', 'clip'];

export interface ShotMedia {
  id: number | string;
  task_id: number;
  shot_id: string;
  media: string; /* sha256 of the bytes: GET /api/v1/media/{media} */
  mime?: string;
  kind: MediaKind | string;
  source: 'upload' | 'generated' | string;
  model: string | null;
  prompt: string | null;
  status: 'pending' | 'accepted' | 'rejected' | string;
  note: string | null;
  created_at: string;
  reviewed_at: string | null;
}

export interface MediaInfo {
  id: string;
  mime: string;
  bytes: number;
  width: number | null;
  height: number | null;
}

const shotPath = (task: number, shot: string) => `/api/v1/tasks/${task}/shots/${encodeURIComponent(shot)}`;

/* An item as the server sends it: "task_id"/"shot_id", or "task"/"shot". */
function item(x: any): ShotMedia | null {
  if (!x || typeof x !== 'object') return null;
  return { ...x, task_id: x.task_id ?? x.task, shot_id: x.shot_id ?? x.shot };
}

export async function shotMedia(task: number): Promise<ShotMedia[]> {
  const r = await api<{ items: unknown[] }>('GET', `/api/v1/tasks/${task}/shots/media`);
  return Array.isArray(r?.items) ? (r!.items.map(item).filter(Boolean) as ShotMedia[]) : [];
}

export async function attachMedia(task: number, shot: string, media: string, kind: string): Promise<ShotMedia | null> {
  return item(await api('POST', `${shotPath(task, shot)}/media`, { media, kind }));
}

export async function reviewMedia(id: number | string, verdict: 'accept' | 'reject', note: string): Promise<ShotMedia | null> {
  return item(await api('POST', `/api/v1/shot-media/${id}/review`, note ? { verdict, note } : { verdict }));
}

export async function generateFrame(task: number, shot: string, kind: string): Promise<Job | null> {
  const r = await api<{ job: Job }>('POST', `${shotPath(task, shot)}/generate`, { kind });
  return r?.job ?? null;
}

/* POST /api/v1/media with the file's bytes as the body (owner, manager). */
export async function uploadMedia(file: Blob): Promise<MediaInfo> {
  const csrf = csrfToken();
  let r: Response;
  try {
    r = await fetch('/api/v1/media', {
      method: 'POST',
      headers: { Accept: 'application/json', ...(csrf ? { 'X-CSRF-Token': csrf } : {}) },
      body: file,
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new NetworkError(String(e));
  }
  let b: any = null;
  try {
    b = await r.json();
  } catch {
    /* not JSON */
  }
  if (r.ok && b && typeof b.id === 'string') return b as MediaInfo;
  const err = b && b.error ? b.error : {};
  throw new ApiError(r.status, err.code || 'internal', err.message || r.statusText || String(r.status), err.path);
}

export const thumbUrl = (sha: string, n = 256) => `/api/v1/media/${sha}?thumb=${n}`;
export const mediaUrl = (sha: string) => `/api/v1/media/${sha}`;

/* ---- a shot's history: GET /api/v1/tasks/{id}/shots/{shot}/history ---- */

export interface ShotVersion {
  source: 'prediction' | 'human' | 'review' | 'sync' | string;
  at: string;
  model?: string | null;
  version?: number;
  user?: number;
  prediction?: number;
  annotation?: number;
  shot: Record<string, unknown>;
}

/* Every stored version of the shot, oldest first; null when none has that id (never saved). */
export async function shotHistory(task: number, shot: string): Promise<ShotVersion[] | null> {
  try {
    const r = await api<{ versions: ShotVersion[] }>('GET', `${shotPath(task, shot)}/history`);
    return Array.isArray(r?.versions) ? r!.versions.filter((v) => v && typeof v.shot === 'object' && v.shot) : [];
  } catch (e) {
    /* 404 "no such route" is an older server: an error, not "never saved" */
    if (e instanceof ApiError && e.status === 404 && !/route/i.test(e.message)) return null;
    throw e;
  }
}
