// The storyboard endpoints the tool reads (issue 5), through the shared
// client (session cookie + X-CSRF-Token, a 401 asks for a login and retries).
import { api } from '../../api';

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
