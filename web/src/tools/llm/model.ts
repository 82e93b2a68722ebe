// Kind "llm": the config, task data and results of docs/api.md (the server's
// rules are src/schema/schema_llm.c). Pure functions, no DOM: what an
// untouched task starts from, and what is still missing before a submit.
import { t } from '../../i18n';
import type { Task } from '../../api';

export type Mode = 'sft' | 'pairwise' | 'ranking' | 'rubric';

export interface Criterion {
  name: string;
  min: number;
  max: number;
}

export interface LlmConfig {
  mode: Mode | null;
  criteria: Criterion[];
  requireReason: boolean;
}

export interface Message {
  role: string;
  content: string;
}

export interface Response {
  id: string;
  text: string;
}

type Result = Record<string, unknown>;

const MODES: Mode[] = ['sft', 'pairwise', 'ranking', 'rubric'];

export function readConfig(config: Record<string, unknown>): LlmConfig {
  const mode = MODES.includes(config.mode as Mode) ? (config.mode as Mode) : null;
  const criteria: Criterion[] = [];
  if (Array.isArray(config.criteria))
    for (const c of config.criteria as Array<Record<string, unknown>>) {
      if (c && typeof c.name === 'string' && Number.isInteger(c.min) && Number.isInteger(c.max))
        criteria.push({ name: c.name, min: c.min as number, max: c.max as number });
    }
  return { mode, criteria, requireReason: config.require_reason === true };
}

/* The conversation: a prompt is one user turn with no role shown. */
export function conversation(data: Record<string, unknown>): { prompt: string | null; messages: Message[] } {
  if (typeof data.prompt === 'string') return { prompt: data.prompt, messages: [] };
  const messages: Message[] = [];
  if (Array.isArray(data.messages))
    for (const m of data.messages as Array<Record<string, unknown>>) {
      if (m && typeof m.content === 'string') messages.push({ role: String(m.role ?? ''), content: m.content });
    }
  return { prompt: null, messages };
}

export function responses(data: Record<string, unknown>): Response[] {
  const out: Response[] = [];
  if (Array.isArray(data.responses))
    for (const r of data.responses as Array<Record<string, unknown>>) {
      if (r && typeof r.id === 'string') out.push({ id: r.id, text: typeof r.text === 'string' ? r.text : '' });
    }
  return out;
}

/* Blind labels for responses, by their place in the task: A, B, …, Z, 27, 28, … */
export function letter(i: number): string {
  return i < 26 ? String.fromCharCode(65 + i) : String(i + 1);
}

/* result.ranking when it lists every response id once, else null (not ranked yet). */
export function rankingOf(result: Result, resps: Response[]): string[] | null {
  const r = result.ranking;
  if (!Array.isArray(r) || r.length !== resps.length) return null;
  const ids = new Set(resps.map((x) => x.id));
  const seen = new Set<string>();
  for (const id of r) {
    if (typeof id !== 'string' || !ids.has(id) || seen.has(id)) return null;
    seen.add(id);
  }
  return r as string[];
}

/* Move the element at `from` to index `to` (in the list without it). */
export function moved<T>(list: T[], from: number, to: number): T[] {
  const next = list.slice();
  const [x] = next.splice(from, 1);
  next.splice(Math.max(0, Math.min(next.length, to)), 0, x);
  return next;
}

export function scoresOf(result: Result): Record<string, number> {
  const s = result.scores;
  return s && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, number>) : {};
}

/*
 * What an untouched task submits. Only sft with a single given response is
 * valid untouched (the annotator accepts it as it is); every other mode
 * needs a judgement, which validate() asks for.
 */
export function emptyResult(config: Record<string, unknown>, task?: Task): Result {
  const c = readConfig(config);
  switch (c.mode) {
    case 'sft': {
      const resps = task ? responses(task.data) : [];
      return { response: resps.length === 1 ? resps[0].text : '' };
    }
    case 'rubric':
      return { scores: {} };
    default:
      return {};
  }
}

/* What is missing before the result can be submitted, or null. */
export function validate(config: Record<string, unknown>, task: Task, result: Result): string | null {
  const c = readConfig(config);
  switch (c.mode) {
    case 'sft':
      return typeof result.response === 'string' && result.response.trim() !== '' ? null : t('llm.missing.response');
    case 'pairwise': {
      const resps = responses(task.data);
      const choice = result.choice;
      if (choice !== 'tie' && !resps.some((r) => r.id === choice)) return t('llm.missing.choice');
      if (choice !== 'tie' && ![1, 2, 3].includes(result.strength as number)) return t('llm.missing.strength');
      if (c.requireReason && (typeof result.reason !== 'string' || result.reason.trim() === ''))
        return t('llm.missing.reason');
      return null;
    }
    case 'ranking':
      return rankingOf(result, responses(task.data)) ? null : t('llm.missing.ranking');
    case 'rubric': {
      const scores = scoresOf(result);
      const missing = c.criteria
        .filter((k) => {
          const v = scores[k.name];
          return !Number.isInteger(v) || v < k.min || v > k.max;
        })
        .map((k) => k.name);
      return missing.length ? t('llm.missing.scores', { names: missing.join(t('llm.listSep')) }) : null;
    }
    default:
      return t('llm.badMode', { mode: String(config.mode) });
  }
}
