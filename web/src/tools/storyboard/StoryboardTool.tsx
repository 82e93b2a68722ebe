// Tool for kind "storyboard": one novel scene's shot list (分镜), drafted by
// the server and edited here. Task data {"novel","chapter":{"index","title",
// "volume"},"scene","text"}; result {"shots":[...]} (model.ts), source
// offsets in code points of data.text.
//
// Left: the scene text with every shot's source range faintly marked (a
// click selects that shot) and the selected shot's range highlighted; the
// roster (a click adds the character to the selected shot). Right: the
// running duration, then the shots as editable cards.
//
// Keys (none while typing in a field, except the Ctrl ones; Esc leaves a
// field): J / Alt+↓ next shot, K / Alt+↑ previous; S split the selected shot
// at the text caret or selection (the first part keeps the id, the second
// gets a new one); M merge with the next shot (the first id stays); I insert
// a shot after; Alt+Shift+↑/↓ move the shot; Delete removes it; T sets its
// source range to the selected text; Ctrl+Z undo, Ctrl+Shift+Z / Ctrl+Y
// redo. Ctrl+Enter submits (the host). Text is rendered as text nodes only.
//
// Each card also carries the shot's image and video prompts (drafted by the
// server from the shot and the roster's character sheets, editable here) and
// its media strip (media.tsx: frames and clips, generate, upload, review).
//
// History (history.tsx): a card's 历史 button lists the shot's stored
// versions with the changed fields highlighted; restoring a version copies
// its content fields (not the id, not the source range) as one undoable
// edit. A shot whose speaker the drafter guessed (notes starting 说话人待确认)
// carries a 待确认 badge; U / Shift+U (or the 下一个待确认 button) select the
// next / previous such shot; choosing speakers for all its spoken lines
// removes the drafter's note (the same undo step).
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { session } from '../../api';
import { errorText } from '../../errors';
import { t, type MessageKey } from '../../i18n';
import type { ToolProps } from '../types';
import * as sbApi from './api';
import type { Character, Flag, Novel } from './api';
import {
  ANGLES, KINDS, MOVES, SIZES, TRANSITIONS, blankShot, clock, customFields, insertAfter, merge, move, newId,
  problems, remove, resolveId, shotsOf, split, totalDuration, type CustomField, type Line, type Shot,
  isUnsure, nextWhere, restored, speakersSet, withoutUnsure,
} from './model';
import { ShotHistory } from './history';
import { MediaStrip, useShotMedia } from './media';
import { textSelection } from './offsets';
import './storyboard.css';

type R = Record<string, unknown>;

export function emptyResult(): R {
  return { shots: [] };
}

const sceneText = (task: { data: R }) => (typeof task.data.text === 'string' ? task.data.text : '');

export function validate(_config: R, task: { data: R }, result: R): string | null {
  const ps = problems(shotsOf(result), Array.from(sceneText(task)).length);
  if (!ps.length) return null;
  const first = t(`sb.problem.${ps[0].key}` as MessageKey, { n: ps[0].shot });
  return ps.length === 1 ? first : t('sb.problem.more', { first, n: ps.length - 1 });
}

/* Empty enum fields are left out of the result rather than sent as "". */
function output(shots: Shot[]): Shot[] {
  return shots.map((s) => {
    const o = { ...s };
    for (const k of ['size', 'angle', 'move', 'transition']) if (o[k] === '') delete o[k];
    return o;
  });
}

function typing(el: EventTarget | null): boolean {
  const e = el as HTMLElement | null;
  return !!e && (e.tagName === 'INPUT' || e.tagName === 'TEXTAREA' || e.tagName === 'SELECT' || e.isContentEditable);
}

/* A new DOM and state per task. */
export function Tool(props: ToolProps) {
  return <Storyboard key={props.task.id} {...props} />;
}

function Storyboard({ task, config, result, onChange }: ToolProps) {
  const text = sceneText(task);
  const cps = useMemo(() => Array.from(text), [text]);
  const shots = useMemo(() => shotsOf(result), [result]);
  const fields = customFields(config);
  const [sel, setSel] = useState(0);
  const [msg, setMsg] = useState<{ text: string; undo?: boolean } | null>(null);
  const [roster, setRoster] = useState<Character[]>([]);
  const [rosterErr, setRosterErr] = useState('');
  const [novel, setNovel] = useState<Novel | null>(null);
  const [flags, setFlags] = useState<Flag[]>([]);
  const [base] = useState(() => totalDuration(shots)); /* what the server counted for this scene */
  const media = useShotMedia(task.id, task.project);
  const root = useRef<HTMLDivElement>(null);
  const textRef = useRef<HTMLDivElement>(null);
  /* the latest result and selection for handlers that run before the next render */
  const st = useRef({ result, prop: result, sel: 0, past: [] as Array<[R, number]>, future: [] as Array<[R, number]>, group: '', at: 0, ids: new Set<string>() });
  const s = st.current;
  if (s.prop !== result) {
    s.prop = result;
    s.result = result;
  }
  for (const x of shots) s.ids.add(x.id);
  const cur = sel < shots.length ? sel : Math.max(0, shots.length - 1);

  useEffect(() => {
    let live = true;
    /* a sample task (the config editor's preview) has no project: nothing to fetch */
    if (task.project > 0) {
      sbApi
        .characters(task.project)
        .then((c) => live && setRoster(c))
        .catch((e) => live && setRosterErr(errorText(e)));
      sbApi.novel(task.project).then((n) => live && setNovel(n)).catch(() => {});
    }
    if (task.id > 0) sbApi.flags(task.id).then((f) => live && setFlags(f)).catch(() => {});
    return () => {
      live = false;
    };
  }, []);

  const byId = useMemo(() => new Map(roster.map((c) => [c.id, c])), [roster]);
  const nameOf = (id: string) => byId.get(resolveId(id, byId))?.name ?? id;
  const active = roster.filter((c) => !c.merged_into);

  function select(i: number) {
    s.sel = i;
    setSel(i);
  }

  function latest(): Shot[] {
    return shotsOf(s.result);
  }

  /* Apply an edit: one undo step, or joined to the last one (typing in one field). */
  function commit(next: Shot[], opts: { sel?: number; group?: string } = {}) {
    const now = Date.now();
    if (!(opts.group && opts.group === s.group && now - s.at < 1500)) {
      s.past.push([s.result, s.sel]);
      if (s.past.length > 200) s.past.shift();
    }
    s.group = opts.group ?? '';
    s.at = now;
    s.future = [];
    s.result = { ...s.result, shots: output(next) };
    onChange(s.result);
    if (opts.sel !== undefined) select(Math.max(0, opts.sel));
    if (!opts.group) setMsg(null);
  }

  function history(back: boolean) {
    const from = back ? s.past : s.future;
    const to = back ? s.future : s.past;
    const h = from.pop();
    if (!h) return;
    to.push([s.result, s.sel]);
    const [r, i] = h;
    s.result = r;
    s.group = '';
    onChange(r);
    setMsg(null);
    select(Math.min(i, Math.max(0, shotsOf(r).length - 1)));
  }

  function patch(i: number, p: Partial<Shot>, group?: string) {
    const list = latest();
    if (!list[i]) return;
    list[i] = { ...list[i], ...p };
    commit(list, { group });
  }

  const at = () => Math.min(s.sel, Math.max(0, latest().length - 1));

  function doSplit() {
    const list = latest();
    const i = at();
    const shot = list[i];
    const r = textRef.current && textSelection(textRef.current, cps.length);
    let p = -1;
    if (shot && r) p = r.start > shot.source.start ? r.start : r.end;
    const next = shot && p >= 0 ? split(list, i, p, newId(s.ids), cps) : null;
    if (!next) return setMsg({ text: t('sb.cantSplit') });
    commit(next, { sel: i + 1 });
    window.getSelection()?.removeAllRanges();
  }

  function doMerge() {
    const i = at();
    const next = merge(latest(), i);
    if (!next) return setMsg({ text: t('sb.cantMerge') });
    commit(next, { sel: i });
  }

  function doInsert() {
    const list = latest();
    const i = list.length ? at() : -1;
    const from = list[i]?.source.end ?? 0;
    commit(insertAfter(list, i, blankShot(newId(s.ids), Math.min(from, cps.length))), { sel: i + 1 });
  }

  function doMove(by: number) {
    const i = at();
    const next = move(latest(), i, by);
    if (next) commit(next, { sel: i + by });
  }

  function doDelete() {
    const list = latest();
    const i = at();
    if (!list[i]) return;
    commit(remove(list, i), { sel: Math.min(i, list.length - 2) });
    setMsg({ text: t('sb.deleted', { n: i + 1 }), undo: true });
  }

  function doRange() {
    const r = textRef.current && textSelection(textRef.current, cps.length);
    if (!r || r.end <= r.start || !latest()[at()]) return setMsg({ text: t('sb.needSelection') });
    patch(at(), { source: r });
    window.getSelection()?.removeAllRanges();
  }

  /* the next (1) or previous (-1) shot whose speaker the drafter guessed */
  function jumpUnsure(by: 1 | -1) {
    const list = latest();
    const i = nextWhere(list, list.length ? at() : -1, by, isUnsure);
    if (i < 0) return setMsg({ text: t('sbh.noUnsure') });
    setMsg(null);
    select(i);
  }

  /* a stored version's content fields on shot i (one undo step) */
  function restore(i: number, version: Shot, source: string, time: string) {
    const list = latest();
    if (!list[i]) return;
    list[i] = restored(list[i], version);
    commit(list, { sel: i });
    setMsg({ text: t('sbh.restored', { n: i + 1, source, time }), undo: true });
  }

  function addChar(id: string) {
    const i = at();
    const shot = latest()[i];
    if (shot && !shot.characters.some((c) => resolveId(c, byId) === resolveId(id, byId)))
      patch(i, { characters: [...shot.characters, id] });
  }

  /* keys: the listener calls the handler of the latest render (a ref), which reads `st` */
  const keys = useRef<(ev: KeyboardEvent) => void>();
  keys.current = (ev: KeyboardEvent) => {
    if (ev.isComposing) return;
    const inField = typing(ev.target);
    const inTool = !!root.current && root.current.contains(ev.target as Node);
    const k = ev.key.toLowerCase();
    if (ev.ctrlKey || ev.metaKey) {
      if ((k === 'z' || k === 'y') && !ev.altKey && (!inField || inTool)) {
        ev.preventDefault();
        history(k === 'z' && !ev.shiftKey);
      }
      return;
    }
    if (inField) {
      if (ev.key === 'Escape' && inTool) (ev.target as HTMLElement).blur();
      return;
    }
    const n = latest().length;
    const go = (i: number) => select(Math.max(0, Math.min(n - 1, i)));
    let act: (() => void) | null = null;
    if (ev.altKey && (ev.key === 'ArrowUp' || ev.key === 'ArrowDown')) {
      const by = ev.key === 'ArrowUp' ? -1 : 1;
      act = ev.shiftKey ? () => doMove(by) : () => go(at() + by);
    } else if (!ev.altKey) {
      act =
        k === 'j' ? () => go(at() + 1)
        : k === 'k' ? () => go(at() - 1)
        : k === 's' ? doSplit
        : k === 'm' ? doMerge
        : k === 'i' ? doInsert
        : k === 't' ? doRange
        : k === 'u' ? () => jumpUnsure(ev.shiftKey ? -1 : 1)
        : ev.key === 'Delete' ? doDelete
        : ev.key === 'Escape' ? () => setMsg(null)
        : null;
    }
    if (act) {
      ev.preventDefault();
      act();
    }
  };
  useEffect(() => {
    const on = (ev: KeyboardEvent) => keys.current?.(ev);
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  }, []);

  /* the selected shot in view, on both sides */
  useEffect(() => {
    root.current?.querySelector('.sb-card.on')?.scrollIntoView({ block: 'nearest' });
    textRef.current?.querySelector('.sb-seg.on')?.scrollIntoView({ block: 'nearest' });
  }, [cur, shots.length]);

  /* a click in the text selects the shot there, unless it is in the selected one (a caret to split at) */
  function textClick(ev: MouseEvent) {
    const sel = window.getSelection();
    if (sel && !sel.isCollapsed) return;
    const seg = (ev.target as HTMLElement).closest('[data-shots]');
    if (!seg) return;
    const list = (seg.getAttribute('data-shots') || '').split(',').map(Number);
    if (!list.includes(at())) select(list[0]);
  }

  if (!text) return <p class="error">{t('sb.noText')}</p>;

  const scene = totalDuration(shots);
  const delta = scene - base;
  const chapter = task.data.chapter as { index?: number; title?: string; volume?: string } | undefined;
  const chRow = novel?.chapters?.find((c) => c.index === chapter?.index);
  const target = novel?.totals?.target_seconds ?? 0;
  const series = novel ? novel.totals.duration + delta : 0;
  const ps = problems(shots, cps.length);
  const flagsOf = (id: string) => flags.filter((f) => f.shot_id === id && !f.resolved);
  const unsureCount = shots.filter(isUnsure).length;

  return (
    <div class="sb-tool" ref={root}>
      <div class="sb-left">
        <h2>
          {t('sb.scene', {
            chapter: [chapter?.volume, chapter?.title].filter(Boolean).join(' ') || '',
            scene: String(task.data.scene ?? ''),
          })}
        </h2>
        <div class="sb-text" ref={textRef} data-testid="task-text" onClick={textClick}>
          {segments(cps, shots, cur)}
        </div>
        <p class="hint muted">{t('sb.sourceHint')}</p>
        <Roster
          project={task.project}
          roster={active}
          error={rosterErr}
          onPick={addChar}
          onAdded={(c) => {
            setRoster((r) => [...r, c]);
            addChar(c.id);
          }}
        />
      </div>
      <div class="sb-right">
        <div class="sb-totals" data-testid="sb-totals">
          <span data-testid="sb-scene-total">{t('sb.scene.total', { n: shots.length, time: clock(scene) })}</span>
          {novel && (
            <span data-testid="sb-series">
              {t('sb.totals', { chapter: clock((chRow?.duration ?? 0) + delta), series: clock(series, true) })}
              {target > 0 && t('sb.target', { min: Math.round(target / 60) })}
            </span>
          )}
          {novel && target > 0 && <progress max={target} value={Math.min(series, target)} />}
        </div>
        <div class="sb-bar">
          {(
            [
              ['S', 'sb.split', doSplit],
              ['M', 'sb.merge', doMerge],
              ['I', 'sb.insert', doInsert],
              ['Alt+Shift+↑', 'sb.up', () => doMove(-1)],
              ['Alt+Shift+↓', 'sb.down', () => doMove(1)],
              ['Del', 'sb.delete', doDelete],
              ['Ctrl+Z', 'sb.undo', () => history(true)],
              ['Ctrl+Shift+Z', 'sb.redo', () => history(false)],
            ] as Array<[string, MessageKey, () => void]>
          ).map(([key, label, fn]) => (
            /* mousedown keeps the text selection (split and T read it) */
            <button key={label} data-sb={label.slice(3)} title={key} onMouseDown={(e) => e.preventDefault()} onClick={fn}>
              {t(label)}
            </button>
          ))}
        </div>
        {unsureCount > 0 && (
          <div class="sb-unsure-bar">
            <button data-testid="sb-next-unsure" title="U" onMouseDown={(e) => e.preventDefault()} onClick={() => jumpUnsure(1)}>
              {t('sbh.nextUnsure')}
            </button>
            <span class="sb-unsure-count" data-testid="sb-unsure-count">
              {t('sbh.unsureCount', { n: unsureCount })}
            </span>
          </div>
        )}
        <p class="hint muted">{t('sb.keys')}</p>
        <p class="hint muted">{t('sbh.keys')}</p>
        {msg && (
          <p class="note" role="status" data-testid="sb-msg">
            {msg.text}{' '}
            {msg.undo && (
              <button onClick={() => history(true)} data-testid="sb-undo">
                {t('sb.undo')}
              </button>
            )}
          </p>
        )}
        {ps.length > 0 && (
          <ul class="sb-problems error" data-testid="sb-problems">
            {ps.slice(0, 6).map((p) => (
              <li key={`${p.shot}-${p.key}`}>{t(`sb.problem.${p.key}` as MessageKey, { n: p.shot })}</li>
            ))}
          </ul>
        )}
        {shots.length === 0 && <p class="muted">{t('sb.noShots')}</p>}
        <ol class="sb-list" data-testid="shots">
          {shots.map((shot, i) => (
            <Card
              key={shot.id || `#${i}`}
              shot={shot}
              i={i}
              on={i === cur}
              task={task.id}
              onRestore={(v, source, time) => restore(i, v, source, time)}
              cps={cps}
              fields={fields}
              roster={active}
              nameOf={nameOf}
              flags={flagsOf(shot.id)}
              resolve={(f) =>
                sbApi
                  .resolveFlag(f.id)
                  .then(() => setFlags((all) => all.map((x) => (x === f ? { ...x, resolved: true } : x))))
                  .catch((e) => setMsg({ text: errorText(e) }))
              }
              select={() => i !== s.sel && select(i)}
              patch={(p, group) => patch(i, p, group)}
              setRange={doRange}
              media={media.enabled && shot.id ? <MediaStrip shot={shot.id} state={media} /> : null}
            />
          ))}
        </ol>
      </div>
    </div>
  );
}

/* The text cut at every shot edge: spans covered by shots (the selected one "on"). */
function segments(cps: string[], shots: Shot[], cur: number) {
  const n = cps.length;
  const cuts = new Set([0, n]);
  for (const s of shots) {
    cuts.add(Math.max(0, Math.min(n, s.source.start)));
    cuts.add(Math.max(0, Math.min(n, s.source.end)));
  }
  const pts = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let k = 0; k + 1 < pts.length; k++) {
    const a = pts[k];
    const b = pts[k + 1];
    const piece = cps.slice(a, b).join('');
    const cover: number[] = [];
    shots.forEach((s, i) => s.source.start <= a && s.source.end >= b && cover.push(i));
    if (!cover.length) {
      out.push(piece);
      continue;
    }
    const first = shots.findIndex((s) => s.source.start === a && s.source.end > a);
    out.push(
      <span
        key={a}
        class={cover.includes(cur) ? 'sb-seg on' : 'sb-seg'}
        data-shots={cover.join(',')}
        data-start={a}
        data-no={first >= 0 ? first + 1 : undefined}
      >
        {piece}
      </span>,
    );
  }
  return out;
}

function Options({ values, group, value }: { values: string[]; group: string; value: string }) {
  return (
    <>
      {(!value || !values.includes(value)) && <option value={value}>{value || t('sb.unset')}</option>}
      {values.map((v) => (
        <option key={v} value={v}>
          {t(`sb.${group}.${v}` as MessageKey)}
        </option>
      ))}
    </>
  );
}

/* A number field that lets "1." be typed: the text is local, the number goes up when it parses. */
function Num({ value, onValue, label, testid }: { value: number | undefined; onValue(v: number | undefined): void; label: string; testid?: string }) {
  const [txt, setTxt] = useState(value === undefined ? '' : String(value));
  useEffect(() => {
    if (value === undefined ? txt.trim() !== '' : Number(txt) !== value) setTxt(value === undefined ? '' : String(value));
  }, [value]);
  return (
    <input
      class="sb-num"
      inputMode="decimal"
      aria-label={label}
      data-testid={testid}
      value={txt}
      onInput={(e) => {
        const v = e.currentTarget.value;
        setTxt(v);
        const x = Number(v);
        if (v.trim() === '') onValue(undefined);
        else if (Number.isFinite(x)) onValue(x);
      }}
    />
  );
}

interface CardProps {
  shot: Shot;
  i: number;
  on: boolean;
  task: number;
  onRestore(version: Shot, source: string, time: string): void;
  cps: string[];
  fields: CustomField[];
  roster: Character[];
  nameOf(id: string): string;
  flags: Flag[];
  resolve(f: Flag): void;
  select(): void;
  patch(p: Partial<Shot>, group?: string): void;
  setRange(): void;
  media: ComponentChildren;
}

/* The server's snippet diff: "…context[-removed-]{+added+}context…". */
function Diff({ diff }: { diff: unknown }) {
  const d = typeof diff === 'string' ? diff : JSON.stringify(diff);
  const out = [];
  const re = /\[-([\s\S]*?)-\]|\{\+([\s\S]*?)\+\}/g;
  let last = 0;
  for (let m = re.exec(d); m; m = re.exec(d)) {
    out.push(d.slice(last, m.index));
    out.push(m[1] !== undefined ? <del key={m.index}>{m[1]}</del> : <ins key={m.index}>{m[2]}</ins>);
    last = re.lastIndex;
  }
  out.push(d.slice(last));
  return <div class="sb-difftext">{out}</div>;
}

function Card({ shot, i, on, task, onRestore, cps, fields, roster, nameOf, flags, resolve, select, patch, setRange, media }: CardProps) {
  const [showDiff, setShowDiff] = useState(false);
  const [showHist, setShowHist] = useState(false);
  const unsure = isUnsure(shot);
  const canResolve = ['owner', 'manager', 'reviewer'].includes(session.get()?.role ?? '');
  const g = (f: string) => `${shot.id}:${f}`;
  const sel = (key: 'size' | 'angle' | 'move' | 'transition', values: string[], group: string) => (
    <label>
      <span>{t(`sb.${key}` as MessageKey)}</span>
      <select data-field={key} value={shot[key]} onChange={(e) => patch({ [key]: e.currentTarget.value })}>
        <Options values={values} group={group} value={shot[key]} />
      </select>
    </label>
  );
  const lines = shot.dialogue;
  const setLine = (k: number, p: Partial<Line>, group?: string) =>
    patch({ dialogue: lines.map((l, j) => (j === k ? { ...l, ...p } : l)) }, group);
  /* a speaker chosen: once every spoken line has one, the drafter's question goes */
  const setSpeaker = (k: number, speaker: string | null) => {
    const dialogue = lines.map((l, j) => (j === k ? { ...l, speaker } : l));
    if (speaker && unsure && speakersSet({ ...shot, dialogue })) patch({ dialogue, notes: withoutUnsure(shot.notes) });
    else patch({ dialogue });
  };
  const src = shot.source;
  const snippet = cps.slice(src.start, src.end).join('');
  return (
    <li
      class={`sb-card${on ? ' on' : ''}${unsure ? ' unsure' : ''}`}
      data-shot={shot.id}
      data-no={i + 1}
      onMouseDown={select}
      onFocusCapture={select}
    >
      <div class="sb-head">
        <b class="sb-no">{t('sb.shotNo', { n: i + 1 })}</b>
        <span class="sb-id muted">{shot.id}</span>
        {unsure && (
          <span class="sb-unsure" data-testid="sb-unsure" title={t('sbh.unsureTitle', { note: shot.notes })}>
            {t('sbh.unsure')}
          </span>
        )}
        {task > 0 && shot.id && (
          <button class="sb-histbtn" data-testid="sb-history-btn" aria-expanded={showHist} onClick={() => setShowHist(!showHist)}>
            {t('sbh.history')}
          </button>
        )}
        {flags.length > 0 && (
          <button class="sb-flag" data-testid="sb-flag" onClick={() => setShowDiff(!showDiff)}>
            ⚠ {t('sb.flag')}
          </button>
        )}
        <span class="spacer" />
        <label class="sb-dur">
          <span>{t('sb.duration')}</span>
          <Num value={shot.duration} label={t('sb.duration')} testid="duration" onValue={(v) => patch({ duration: v ?? 0 }, g('duration'))} />
        </label>
      </div>
      {showHist && (
        <ShotHistory task={task} shot={shot} nameOf={nameOf} onRestore={onRestore} onClose={() => setShowHist(false)} />
      )}
      {showDiff &&
        flags.map((f) => (
          <div key={String(f.id)} class="sb-diff">
            <span class="muted">{t('sb.flagHint')}</span> {f.reason !== 'source_changed' && f.reason}
            <Diff diff={f.diff} />
            {canResolve && (
              <button data-testid="sb-resolve" onClick={() => resolve(f)}>
                {t('sb.resolve')}
              </button>
            )}
          </div>
        ))}
      <div class="sb-row">
        {sel('size', SIZES, 'size')}
        {sel('angle', ANGLES, 'angle')}
        {sel('move', MOVES, 'move')}
        {sel('transition', TRANSITIONS, 'transition')}
      </div>
      <label class="sb-wide">
        <span>{t('sb.picture')}</span>
        <textarea data-field="picture" rows={2} value={shot.picture} onInput={(e) => patch({ picture: e.currentTarget.value }, g('picture'))} />
      </label>
      <div class="sb-chars">
        <span>{t('sb.characters')}</span>
        {shot.characters.map((c) => (
          <span key={c} class="sb-chip" data-char={c}>
            {nameOf(c)}
            <button
              class="sb-x"
              aria-label={t('sb.removeChar', { name: nameOf(c) })}
              onClick={() => patch({ characters: shot.characters.filter((x) => x !== c) })}
            >
              ×
            </button>
          </span>
        ))}
        {roster.length > 0 && (
          <select
            data-field="add-char"
            value=""
            onChange={(e) => {
              const v = e.currentTarget.value;
              e.currentTarget.value = '';
              if (v && !shot.characters.includes(v)) patch({ characters: [...shot.characters, v] });
            }}
          >
            <option value="">{t('sb.addChar')}</option>
            {roster.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        )}
      </div>
      <div class="sb-lines">
        <div class="sb-lines-head">
          <span>{t('sb.dialogue')}</span>
          <button class="sb-add" onClick={() => patch({ dialogue: [...lines, { speaker: null, kind: 'dialogue', text: '' }] })}>
            {t('sb.addLine')}
          </button>
        </div>
        {lines.map((l, k) => (
          <div class="sb-line" key={k} data-line={k}>
            <select
              aria-label={t('sb.dialogue')}
              value={l.speaker ?? ''}
              onChange={(e) => setSpeaker(k, e.currentTarget.value || null)}
            >
              <option value="">{t('sb.noSpeaker')}</option>
              {l.speaker && !roster.some((c) => c.id === l.speaker) && <option value={l.speaker}>{nameOf(l.speaker)}</option>}
              {roster.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
            <select value={l.kind} onChange={(e) => setLine(k, { kind: e.currentTarget.value })}>
              <Options values={KINDS} group="kind" value={l.kind} />
            </select>
            <input
              aria-label={t('sb.lineText')}
              value={l.text}
              onInput={(e) => setLine(k, { text: e.currentTarget.value }, g(`line${k}`))}
            />
            <button class="sb-x" aria-label={t('sb.removeLine')} onClick={() => patch({ dialogue: lines.filter((_, j) => j !== k) })}>
              ×
            </button>
          </div>
        ))}
      </div>
      <div class="sb-row">
        <label class="sb-grow">
          <span>{t('sb.sound')}</span>
          <input data-field="sound" value={shot.sound} onInput={(e) => patch({ sound: e.currentTarget.value }, g('sound'))} />
        </label>
        <label class="sb-grow">
          <span>{t('sb.notes')}</span>
          <input data-field="notes" value={shot.notes} onInput={(e) => patch({ notes: e.currentTarget.value }, g('notes'))} />
        </label>
      </div>
      {fields.length > 0 && (
        <div class="sb-row">
          {fields.map((f) => {
            const v = shot.custom[f.name];
            const set = (x: unknown, group?: string) => {
              const c = { ...shot.custom };
              if (x === undefined || x === '') delete c[f.name];
              else c[f.name] = x;
              patch({ custom: c }, group);
            };
            return (
              <label key={f.name} class={f.type === 'text' ? 'sb-grow' : undefined}>
                <span>{f.label || f.name}</span>
                {f.type === 'number' ? (
                  <Num value={typeof v === 'number' ? v : undefined} label={f.label || f.name} onValue={(x) => set(x, g(`c.${f.name}`))} />
                ) : f.type === 'choice' ? (
                  <select data-custom={f.name} value={typeof v === 'string' ? v : ''} onChange={(e) => set(e.currentTarget.value)}>
                    <option value="">{t('sb.unset')}</option>
                    {(f.options ?? []).map((o) => (
                      <option key={o} value={o}>
                        {o}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input data-custom={f.name} value={typeof v === 'string' ? v : ''} onInput={(e) => set(e.currentTarget.value, g(`c.${f.name}`))} />
                )}
              </label>
            );
          })}
        </div>
      )}
      <div class="sb-src">
        <span>{t('sb.range')}</span>
        <span class="muted" data-testid="range">
          [{src.start}, {src.end})
        </span>
        <span class="sb-snippet">{snippet.length > 40 ? `${snippet.slice(0, 40)}…` : snippet}</span>
        <button onMouseDown={(e) => e.preventDefault()} onClick={setRange} title="T">
          {t('sb.setRange')}
        </button>
      </div>
      <div class="sb-prompts">
        {(['image_prompt', 'video_prompt'] as const).map((k) => (
          <label key={k} class="sb-wide">
            <span>{t(k === 'image_prompt' ? 'sbm.imagePrompt' : 'sbm.videoPrompt')}</span>
            <textarea
              data-field={k}
              rows={2}
              value={typeof shot[k] === 'string' ? (shot[k] as string) : ''}
              onInput={(e) => patch({ [k]: e.currentTarget.value }, g(k))}
            />
          </label>
        ))}
      </div>
      {media}
    </li>
  );
}

function Roster({
  project,
  roster,
  error,
  onPick,
  onAdded,
}: {
  project: number;
  roster: Character[];
  error: string;
  onPick(id: string): void;
  onAdded(c: Character): void;
}) {
  const [name, setName] = useState('');
  const [fail, setFail] = useState('');
  const [busy, setBusy] = useState(false);
  async function add(e: Event) {
    e.preventDefault();
    const n = name.trim();
    if (!n || busy) return;
    setBusy(true);
    setFail('');
    try {
      const c = await sbApi.addCharacter(project, n);
      if (c) onAdded(c);
      setName('');
    } catch (err) {
      setFail(t('sb.addCharFailed', { message: errorText(err) }));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="sb-roster" data-testid="roster">
      <h2>{t('sb.roster')}</h2>
      {error ? (
        <p class="muted">{t('sb.rosterError', { message: error })}</p>
      ) : roster.length === 0 ? (
        <p class="muted">{t('sb.rosterEmpty')}</p>
      ) : (
        <>
          <div class="sb-people">
            {roster.map((c) => (
              <button
                key={c.id}
                class="sb-person"
                data-char={c.id}
                title={[c.aliases?.join('、'), c.lines ? t('sb.rosterLines', { n: c.lines }) : ''].filter(Boolean).join(' · ')}
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => onPick(c.id)}
              >
                {c.name}
              </button>
            ))}
          </div>
          <p class="hint muted">{t('sb.rosterHint')}</p>
        </>
      )}
      <form class="sb-newchar" onSubmit={add}>
        <input
          aria-label={t('sb.newChar')}
          placeholder={t('sb.newChar')}
          value={name}
          maxLength={200}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy || !name.trim()}>
          {t('sb.addCharBtn')}
        </button>
      </form>
      {fail && <p class="error">{fail}</p>}
    </div>
  );
}
