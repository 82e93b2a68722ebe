// The storyboard result and its edits, as pure functions (no DOM, no i18n).
//
// Result {"shots":[{"id","size","angle","move","picture","characters",
// "dialogue":[{"speaker","kind","text"}],"sound","transition","duration",
// "notes","source":{"start","end"},"custom":{}}]} (issue 5, Contract).
// `source` offsets are code points of task.data.text, end exclusive.
//
// Ids are stable: a shot keeps its id through edits, split, merge and
// reorder; a new shot (split's second half, insert) gets a fresh id
// `u-<random base36>` never seen in this result or its history. The server
// accepts any unique non-empty string as a shot id.

export interface Line {
  speaker: string | null;
  kind: string; /* dialogue | monologue | narration */
  text: string;
}

export interface Shot {
  id: string;
  size: string;
  angle: string;
  move: string;
  picture: string;
  characters: string[];
  dialogue: Line[];
  sound: string;
  transition: string;
  duration: number;
  notes: string;
  source: { start: number; end: number };
  custom: Record<string, unknown>;
  [extra: string]: unknown; /* fields from the server we do not know are kept */
}

export interface CustomField {
  name: string;
  label?: string;
  type: 'text' | 'number' | 'choice';
  options?: string[];
}

export const SIZES = ['long', 'full', 'medium', 'close', 'closeup', 'extreme_closeup'];
export const ANGLES = ['eye', 'high', 'low', 'overhead', 'dutch'];
export const MOVES = ['static', 'push', 'pull', 'pan', 'tilt', 'track', 'follow', 'crane'];
export const TRANSITIONS = ['cut', 'fade', 'dissolve', 'wipe'];
export const KINDS = ['dialogue', 'monologue', 'narration'];

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/* The shots of a result, every field present (missing ones empty). */
export function shotsOf(result: Record<string, unknown>): Shot[] {
  const raw = Array.isArray(result.shots) ? result.shots : [];
  return raw.map((s: any) => {
    const src = s && typeof s.source === 'object' && s.source ? s.source : {};
    return {
      ...s,
      id: str(s?.id),
      size: str(s?.size),
      angle: str(s?.angle),
      move: str(s?.move),
      picture: str(s?.picture),
      characters: Array.isArray(s?.characters) ? s.characters.filter((c: unknown) => typeof c === 'string') : [],
      dialogue: Array.isArray(s?.dialogue)
        ? s.dialogue.map((d: any) => ({
            ...d,
            speaker: typeof d?.speaker === 'string' ? d.speaker : null,
            kind: str(d?.kind) || 'dialogue',
            text: str(d?.text),
          }))
        : [],
      sound: str(s?.sound),
      transition: str(s?.transition),
      duration: typeof s?.duration === 'number' && Number.isFinite(s.duration) ? s.duration : 0,
      notes: str(s?.notes),
      source: {
        start: Number.isInteger(src.start) ? src.start : 0,
        end: Number.isInteger(src.end) ? src.end : 0,
      },
      custom: s?.custom && typeof s.custom === 'object' && !Array.isArray(s.custom) ? s.custom : {},
    } as Shot;
  });
}

export function customFields(config: Record<string, unknown>): CustomField[] {
  const f = config.custom_fields;
  if (!Array.isArray(f)) return [];
  return f.filter((x) => x && typeof x.name === 'string' && x.name !== '') as CustomField[];
}

/* Seconds rounded to a tenth (no 0.30000000000000004 in the result). */
export const tenth = (x: number) => Math.round(x * 10) / 10;

export const totalDuration = (shots: Shot[]) => tenth(shots.reduce((a, s) => a + (s.duration > 0 ? s.duration : 0), 0));

/* m:ss, or h:mm:ss with `hours` */
export function clock(seconds: number, hours = false): string {
  const s = Math.max(0, Math.round(seconds));
  const p = (n: number) => String(n).padStart(2, '0');
  if (hours) return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
  return `${p(Math.floor(s / 60))}:${p(s % 60)}`;
}

/* A fresh id not in `taken` (which it joins). */
export function newId(taken: Set<string>): string {
  for (;;) {
    const a = new Uint32Array(2);
    crypto.getRandomValues(a);
    const id = `u-${a[0].toString(36)}${(a[1] % 1296).toString(36)}`;
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
}

export function blankShot(id: string, at: number): Shot {
  return {
    id,
    size: 'medium',
    angle: 'eye',
    move: 'static',
    picture: '',
    characters: [],
    dialogue: [],
    sound: '',
    transition: 'cut',
    duration: 3,
    notes: '',
    source: { start: at, end: at },
    custom: {},
  };
}

/* Where the dialogue line's text is found in the scene text (code points), or -1. */
function lineAt(cps: string[], text: string, from: number, to: number): number {
  const needle = Array.from(text.trim());
  if (needle.length === 0) return -1;
  outer: for (let i = from; i + needle.length <= to; i++) {
    for (let j = 0; j < needle.length; j++) if (cps[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/*
 * Split shots[i] at code point `at` (strictly inside its source): the first
 * part keeps the id, the second gets `id2`; the duration is shared in
 * proportion to the source lengths; a dialogue line goes to the part whose
 * text holds it (the first when it is not found).
 */
export function split(shots: Shot[], i: number, at: number, id2: string, cps: string[]): Shot[] | null {
  const s = shots[i];
  if (!s || at <= s.source.start || at >= s.source.end) return null;
  const len = s.source.end - s.source.start;
  const d1 = Math.max(0.1, tenth((s.duration * (at - s.source.start)) / len));
  const d2 = Math.max(0.1, tenth(s.duration - d1));
  const first: Line[] = [];
  const second: Line[] = [];
  for (const l of s.dialogue) (lineAt(cps, l.text, at, s.source.end) >= 0 && lineAt(cps, l.text, s.source.start, at) < 0 ? second : first).push(l);
  const a: Shot = { ...s, dialogue: first, duration: d1, source: { start: s.source.start, end: at } };
  const b: Shot = {
    ...s,
    id: id2,
    dialogue: second,
    duration: d2,
    notes: '',
    characters: [...s.characters],
    custom: { ...s.custom },
    source: { start: at, end: s.source.end },
  };
  return [...shots.slice(0, i), a, b, ...shots.slice(i + 1)];
}

const joinText = (a: string, b: string, sep: string) => (a && b && a !== b ? `${a}${sep}${b}` : a || b);

/* Merge shots[i] with shots[i + 1]: the first id stays. */
export function merge(shots: Shot[], i: number): Shot[] | null {
  const a = shots[i];
  const b = shots[i + 1];
  if (!a || !b) return null;
  const m: Shot = {
    ...a,
    picture: joinText(a.picture, b.picture, '；'),
    characters: [...a.characters, ...b.characters.filter((c) => !a.characters.includes(c))],
    dialogue: [...a.dialogue, ...b.dialogue],
    sound: joinText(a.sound, b.sound, '；'),
    duration: tenth(a.duration + b.duration),
    notes: joinText(a.notes, b.notes, '；'),
    source: { start: Math.min(a.source.start, b.source.start), end: Math.max(a.source.end, b.source.end) },
    custom: { ...b.custom, ...a.custom },
  };
  return [...shots.slice(0, i), m, ...shots.slice(i + 2)];
}

export function insertAfter(shots: Shot[], i: number, shot: Shot): Shot[] {
  return [...shots.slice(0, i + 1), shot, ...shots.slice(i + 1)];
}

export function move(shots: Shot[], i: number, by: number): Shot[] | null {
  const j = i + by;
  if (i < 0 || i >= shots.length || j < 0 || j >= shots.length) return null;
  const next = [...shots];
  [next[i], next[j]] = [next[j], next[i]];
  return next;
}

export function remove(shots: Shot[], i: number): Shot[] {
  return shots.filter((_, k) => k !== i);
}

export const MAX_SECONDS = 600; /* a shot's duration is in (0, 600] (the server's check) */

export type Problem = { shot: number; key: 'size' | 'duration' | 'source' | 'id' };

/* What is wrong with the shots (1-based shot numbers). */
export function problems(shots: Shot[], textLength: number): Problem[] {
  const out: Problem[] = [];
  const ids = new Set<string>();
  shots.forEach((s, i) => {
    if (!s.size) out.push({ shot: i + 1, key: 'size' });
    if (!(s.duration > 0 && s.duration <= MAX_SECONDS)) out.push({ shot: i + 1, key: 'duration' });
    if (s.source.start < 0 || s.source.end < s.source.start || s.source.end > textLength) out.push({ shot: i + 1, key: 'source' });
    if (!s.id || ids.has(s.id)) out.push({ shot: i + 1, key: 'id' });
    ids.add(s.id);
  });
  return out;
}

/* The character a (possibly merged) id stands for: follows merged_into. */
export function resolveId(id: string, byId: Map<string, { merged_into?: string | null }>): string {
  let cur = id;
  for (let n = 0; n < 16; n++) {
    const c = byId.get(cur);
    if (!c || !c.merged_into) return cur;
    cur = c.merged_into;
  }
  return cur;
}

/* ---- a shot's stored versions, and guessed speakers ---- */

/* The drafter's note on a shot whose speaker it guessed (docs/storyboard.md, the rule-based drafter, 7). */
export const UNSURE_NOTE = '说话人待确认';

/* The note's parts (a merge joins notes with ；). */
const noteParts = (notes: string) => notes.split('；');

export const isUnsure = (s: Shot) => noteParts(s.notes).some((p) => p.trim().startsWith(UNSURE_NOTE));

/* The notes without the drafter's speaker question. */
export const withoutUnsure = (notes: string) =>
  noteParts(notes)
    .filter((p) => !p.trim().startsWith(UNSURE_NOTE))
    .join('；');

/* Every spoken line has a speaker (narration needs none). */
export const speakersSet = (s: Shot) => s.dialogue.every((l) => l.kind === 'narration' || !!l.speaker);

/* The index of the next (by = 1) or previous (-1) shot after `from` that `pick` takes, wrapping; -1 for none. */
export function nextWhere(shots: Shot[], from: number, by: 1 | -1, pick: (s: Shot) => boolean): number {
  const n = shots.length;
  for (let k = 1; k <= n; k++) {
    const i = (((from + by * k) % n) + n) % n;
    if (pick(shots[i])) return i;
  }
  return -1;
}

/* JSON with object keys sorted: equal contents give equal text. */
function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v ?? null);
}

/* A stored shot as the editor holds it, the optional text fields "" when absent. */
export function normalShot(raw: unknown): Shot {
  const s = shotsOf({ shots: [raw] })[0];
  for (const k of ['image_prompt', 'video_prompt']) if (typeof s[k] !== 'string') s[k] = '';
  return s;
}

/* The fields (not the id) whose values differ between two shots, in the editor's order. */
export const FIELD_ORDER = [
  'size', 'angle', 'move', 'transition', 'duration', 'picture', 'characters', 'dialogue', 'sound', 'notes',
  'custom', 'source', 'image_prompt', 'video_prompt',
];

export function changedFields(a: Shot, b: Shot): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete('id');
  const order = (k: string) => (FIELD_ORDER.includes(k) ? FIELD_ORDER.indexOf(k) : FIELD_ORDER.length);
  return [...keys].filter((k) => canon(a[k]) !== canon(b[k])).sort((x, y) => order(x) - order(y) || (x < y ? -1 : 1));
}

/* `version`'s content fields on `cur`: the id and the source range stay the current shot's. */
export function restored(cur: Shot, version: Shot): Shot {
  return { ...version, id: cur.id, source: { ...cur.source } };
}

/* The content of the two shots is the same (id and source range aside). */
export const sameContent = (a: Shot, b: Shot) => changedFields(a, restored(a, b)).length === 0;
