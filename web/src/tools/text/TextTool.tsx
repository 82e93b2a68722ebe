// Tool for kind "text": whole-text classes and labelled spans.
// Result {"classes":[...], "spans":[{"id","start","end","label"}]} with
// code-point offsets, end exclusive (src/schema/schema_text.c).
//
// Keys: with text selected, 1–9 label the selection as a span; with no
// selection, 1–9 toggle the classes.
//
// Relations (config "relations":{"labels":[...]}, result
// "relations":[{"from","to","label"}] naming span ids): click a span to select
// it, press R (or "Relation"), click the target span, then pick the label
// (1–9 or a click). Spans keep their ids; spans without one get the next free
// s<n> when a relation needs them. Removing a span removes its relations. The text is rendered as text nodes only
// (never as HTML), so markup in task data stays inert.
//
// Undo / redo (Ctrl+Z, Ctrl+Shift+Z or Ctrl+Y, and the toolbar's buttons):
// every span, class and relation edit is one step; the history belongs to
// the task (a new task starts a new one) and keeps the last HISTORY steps. A
// result replaced from outside (a draft restored, a reviewer's revert) starts
// a new history too.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import type { ToolProps } from '../types';
import { selectionOffsets } from './offsets';
import './text.css';

export interface Span {
  id?: string;
  start: number;
  end: number;
  label: string;
  attrs?: unknown;
}

interface TextConfig {
  classes?: { choices: string[]; multiple?: boolean };
  spans?: { labels: string[]; overlap?: boolean };
  relations?: { labels: string[] };
}

export interface Relation {
  from: string;
  to: string;
  label: string;
  attrs?: unknown;
}

/* The spans with an id each: existing ids are kept, the others get the next free s<n>. */
export function withIds(spans: Span[]): Span[] {
  if (spans.every((s) => s.id)) return spans;
  const out: Span[] = [];
  for (const s of spans) out.push(s.id ? s : { ...s, id: nextSpanId([...spans, ...out]) });
  return out;
}

export function emptyResult(config: Record<string, unknown>): Record<string, unknown> {
  const c = config as TextConfig;
  const r: Record<string, unknown> = {};
  if (c.classes) r.classes = [];
  if (c.spans) r.spans = [];
  if (c.relations && c.spans) r.relations = [];
  return r;
}

const HISTORY = 200;

interface History {
  task: unknown;
  past: Array<Record<string, unknown>>;
  future: Array<Record<string, unknown>>;
  /* the result as this tool last saw or made it: another one came from outside */
  cur: Record<string, unknown> | null;
}

function nextSpanId(spans: Span[]): string {
  let n = spans.length + 1;
  const ids = new Set(spans.map((s) => s.id));
  while (ids.has(`s${n}`)) n++;
  return `s${n}`;
}

/* Cut [0, total) at every span edge: segments with the spans covering them. */
function segments(total: number, spans: Span[]): Array<{ start: number; end: number; spans: Span[] }> {
  const cuts = new Set([0, total]);
  for (const s of spans) {
    cuts.add(Math.max(0, Math.min(total, s.start)));
    cuts.add(Math.max(0, Math.min(total, s.end)));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i];
    const b = points[i + 1];
    out.push({ start: a, end: b, spans: spans.filter((s) => s.start <= a && s.end >= b) });
  }
  return out;
}

export function Tool({ task, config, result, onChange }: ToolProps) {
  const c = config as TextConfig;
  const text = typeof task.data.text === 'string' ? task.data.text : '';
  const cps = useMemo(() => Array.from(text), [text]); /* code points */
  const classes = (result.classes as string[] | undefined) ?? [];
  const spans = (result.spans as Span[] | undefined) ?? [];
  const labels = c.spans?.labels ?? [];
  const choices = c.classes?.choices ?? [];
  const textRef = useRef<HTMLDivElement>(null);
  const [pending, setPending] = useState<{ start: number; end: number } | null>(null);
  const [warning, setWarning] = useState('');
  const relLabels = c.relations && c.spans ? c.relations.labels ?? [] : [];
  const relations = (result.relations as Relation[] | undefined) ?? [];
  /* relations: the selected span, the source while picking a target, the pair waiting for a label */
  const [selected, setSelected] = useState<string | null>(null);
  const [relFrom, setRelFrom] = useState<string | null>(null);
  const [relPair, setRelPair] = useState<{ from: string; to: string } | null>(null);
  const [hover, setHover] = useState<Relation | null>(null);
  const [, setTick] = useState(0); /* re-render when the history changes */

  /* the history of this task's result; checked at every render, so it never outlives its task */
  const hist = useRef<History>({ task: task.id, past: [], future: [], cur: null });
  if (hist.current.task !== task.id) hist.current = { task: task.id, past: [], future: [], cur: null };
  if (hist.current.cur !== result) {
    if (hist.current.cur !== null) {
      hist.current.past = [];
      hist.current.future = [];
    }
    hist.current.cur = result;
  }

  /* Every edit goes through here: one undo step (unless `record` is false). */
  function commit(next: Record<string, unknown>, record = true) {
    const h = hist.current;
    if (record) {
      h.past.push(h.cur ?? result);
      if (h.past.length > HISTORY) h.past.shift();
      h.future = [];
      setTick((n) => n + 1);
    }
    h.cur = next;
    onChange(next);
  }

  function travel(from: 'past' | 'future') {
    const h = hist.current;
    const to = h[from].pop();
    if (!to) return;
    (from === 'past' ? h.future : h.past).push(h.cur ?? result);
    h.cur = to;
    setPending(null);
    setSelected(null);
    setRelFrom(null);
    setRelPair(null);
    setHover(null);
    setWarning('');
    setTick((n) => n + 1);
    onChange(to);
  }
  const undo = () => travel('past');
  const redo = () => travel('future');

  useEffect(() => {
    setPending(null);
    setSelected(null);
    setRelFrom(null);
    setRelPair(null);
    setHover(null);
  }, [task.id]);

  function toggleClass(name: string) {
    let next: string[];
    if (classes.includes(name)) next = classes.filter((x) => x !== name);
    else next = c.classes?.multiple ? [...classes, name] : [name];
    commit({ ...result, classes: next });
  }

  /* the DOM selection is the truth (a key may come before the re-render after mouseup) */
  function currentSelection(): { start: number; end: number } | null {
    if (!textRef.current || !c.spans) return null;
    return selectionOffsets(textRef.current, cps.length) ?? pending;
  }

  function addSpan(label: string) {
    const pending = currentSelection();
    if (!pending) return;
    const overlaps = spans.some((s) => s.start < pending.end && pending.start < s.end);
    if (overlaps && !c.spans?.overlap) {
      setWarning(t('ann.overlap'));
      return;
    }
    const span: Span = { id: nextSpanId(withIds(spans)), start: pending.start, end: pending.end, label };
    const next = [...(relLabels.length ? withIds(spans) : spans), span].sort((a, b) => a.start - b.start || a.end - b.end);
    commit({ ...result, spans: next });
    setPending(null);
    setWarning('');
    window.getSelection()?.removeAllRanges();
  }

  function removeSpan(span: Span) {
    const next: Record<string, unknown> = { ...result, spans: spans.filter((s) => s !== span) };
    if (span.id && result.relations) next.relations = relations.filter((r) => r.from !== span.id && r.to !== span.id);
    if (selected === span.id) setSelected(null);
    commit(next);
  }

  /* a click on a span (in the text or the list): select it, or finish the relation being drawn */
  function clickSpan(span: Span) {
    if (!relLabels.length) return;
    let id = span.id;
    if (!id) {
      /* older spans without ids: give them ids now */
      const fixed = withIds(spans);
      id = fixed[spans.indexOf(span)].id!;
      commit({ ...result, spans: fixed }, false); /* not an edit of its own: no undo step */
    }
    if (relFrom && relFrom !== id) {
      setRelPair({ from: relFrom, to: id });
      setRelFrom(null);
      return;
    }
    setRelFrom(null);
    setSelected(id);
  }

  function startRelation() {
    if (!selected || !relLabels.length) return;
    setRelFrom(selected);
    setRelPair(null);
    setWarning('');
  }

  function addRelation(label: string) {
    if (!relPair) return;
    const dup = relations.some((r) => r.from === relPair.from && r.to === relPair.to && r.label === label);
    if (!dup) commit({ ...result, spans: withIds(spans), relations: [...relations, { ...relPair, label }] });
    setRelPair(null);
    setSelected(relPair.to);
  }

  function removeRelation(rel: Relation) {
    commit({ ...result, relations: relations.filter((r) => r !== rel) });
    setHover(null);
  }

  const spanById = (id: string) => spans.find((s) => s.id === id);
  const spanText = (id: string) => {
    const s = spanById(id);
    return s ? cps.slice(s.start, s.end).join('') : id;
  };
  /* the spans to highlight as a relation's ends: the hovered relation, or the selected span's */
  const relEnds = new Map<string, string>();
  if (hover) {
    relEnds.set(hover.from, 'rel-from');
    relEnds.set(hover.to, 'rel-to');
  } else if (relPair) {
    relEnds.set(relPair.from, 'rel-from');
    relEnds.set(relPair.to, 'rel-to');
  } else if (selected) {
    for (const r of relations) {
      if (r.from === selected) relEnds.set(r.to, 'rel-to');
      if (r.to === selected) relEnds.set(r.from, 'rel-from');
    }
  }

  function readSelection() {
    if (!textRef.current || !c.spans) return;
    setPending(selectionOffsets(textRef.current, cps.length));
    setWarning('');
  }

  /*
   * The key handler closes over this render's state. A layout effect swaps
   * it in during the commit, which Preact runs in the microtask after a
   * click's state change: the next key event (a task of its own) never sees
   * the previous render's state. (A passive effect runs after paint, and a
   * fast key press could act on stale state.)
   */
  useLayoutEffect(() => {
    function onKey(ev: KeyboardEvent) {
      const target = ev.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA')) return;
      if ((ev.ctrlKey || ev.metaKey) && !ev.altKey) {
        const key = ev.key.toLowerCase();
        if (key === 'z' || key === 'y') {
          ev.preventDefault();
          if (key === 'y' || ev.shiftKey) redo();
          else undo();
        }
        return; /* Ctrl+Enter and the rest are the stream's */
      }
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const d = ev.key >= '1' && ev.key <= '9' ? Number(ev.key) - 1 : -1;
      if (relPair && d >= 0 && d < relLabels.length) {
        ev.preventDefault();
        addRelation(relLabels[d]);
        return;
      }
      if (d < 0) {
        if (ev.key === 'Escape') {
          setPending(null);
          setRelFrom(null);
          setRelPair(null);
          setSelected(null);
          window.getSelection()?.removeAllRanges();
        } else if ((ev.key === 'r' || ev.key === 'R') && relLabels.length && selected) {
          ev.preventDefault();
          startRelation();
        }
        return;
      }
      const textSel = currentSelection();
      if (textSel && d < labels.length) {
        ev.preventDefault();
        addSpan(labels[d]);
      } else if (!textSel && d < choices.length) {
        ev.preventDefault();
        toggleClass(choices[d]);
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  if (!text) return <p class="error">{t('ann.noText')}</p>;
  const h = hist.current;
  const keepFocus = (e: MouseEvent) => e.preventDefault(); /* keys stay with the page, not the button */

  return (
    <div class="text-tool">
      <div class="text-bar" role="toolbar">
        <button data-testid="undo" disabled={!h.past.length} onMouseDown={keepFocus} onClick={undo} title="Ctrl+Z">
          {t('txt.undo')}
        </button>
        <button data-testid="redo" disabled={!h.future.length} onMouseDown={keepFocus} onClick={redo} title="Ctrl+Shift+Z / Ctrl+Y">
          {t('txt.redo')}
        </button>
      </div>
      {c.classes && (
        <div class="group">
          <h2>{t('ann.classes')}</h2>
          <div class="choices" role="group">
            {choices.map((name, i) => (
              <button
                key={name}
                class={classes.includes(name) ? 'choice on' : 'choice'}
                aria-pressed={classes.includes(name)}
                data-class={name}
                onClick={() => toggleClass(name)}
              >
                <kbd>{i + 1}</kbd> {name}
              </button>
            ))}
          </div>
          <p class="hint muted">{t('ann.classesHint')}</p>
        </div>
      )}
      <div class="text" ref={textRef} data-testid="task-text" onMouseUp={readSelection} onKeyUp={readSelection}>
        {segments(cps.length, spans).map((seg) => {
          const piece = cps.slice(seg.start, seg.end).join('');
          if (seg.spans.length === 0) return piece;
          const first = seg.spans[0];
          const li = Math.max(0, labels.indexOf(first.label)) % 8;
          const endsHere = seg.spans.some((s) => s.end === seg.end);
          /* the innermost (last) span of the segment is the one a click picks */
          const target = seg.spans[seg.spans.length - 1];
          let extra = '';
          if (relLabels.length) {
            if (seg.spans.some((s) => s.id && s.id === selected)) extra += ' selected';
            if (seg.spans.some((s) => s.id && s.id === relFrom)) extra += ' rel-source';
            for (const s of seg.spans) if (s.id && relEnds.has(s.id)) extra += ` ${relEnds.get(s.id)}`;
            if (relFrom) extra += ' picking';
          }
          return (
            <mark
              key={seg.start}
              class={`span lab-${li}${endsHere ? ' span-end' : ''}${extra}`}
              data-label={endsHere ? first.label : undefined}
              data-start={seg.start}
              data-span={target.id}
              onClick={relLabels.length ? () => clickSpan(target) : undefined}
            >
              {piece}
            </mark>
          );
        })}
      </div>
      {c.spans && (
        <div class="group">
          <h2>{t('ann.spans')}</h2>
          <div class="choices">
            {labels.map((label, i) => (
              <button
                key={label}
                class={`label lab-${i % 8}`}
                data-label={label}
                disabled={!pending}
                /* keep the text selection when the button is pressed */
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => addSpan(label)}
              >
                <kbd>{i + 1}</kbd> {label}
              </button>
            ))}
          </div>
          <p class="hint muted">{t('ann.spansHint')}</p>
          {warning && (
            <p class="error" role="alert">
              {warning}
            </p>
          )}
          {spans.length === 0 ? (
            <p class="muted">{t('ann.noSpans')}</p>
          ) : (
            <ul class="span-list" data-testid="span-list">
              {spans.map((s) => {
                const piece = cps.slice(s.start, s.end).join('');
                return (
                  <li
                    key={`${s.start}-${s.end}-${s.label}`}
                    data-span={s.id}
                    class={relLabels.length && s.id && s.id === selected ? 'selected' : undefined}
                  >
                    {relLabels.length > 0 && (
                      <button class="pick" data-testid="pick-span" onClick={() => clickSpan(s)}>
                        {s.id ?? '?'}
                      </button>
                    )}
                    <span class={`tag lab-${Math.max(0, labels.indexOf(s.label)) % 8}`}>{s.label}</span>
                    <span class="span-text">{piece}</span>
                    <span class="muted">
                      [{s.start}, {s.end})
                    </span>
                    <button class="remove" aria-label={t('ann.removeSpan', { text: piece })} onClick={() => removeSpan(s)}>
                      ×
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
      {relLabels.length > 0 && (
        <div class="group relations" data-testid="relations">
          <h2>{t('rel.title')}</h2>
          <div class="choices">
            <button
              data-testid="relation"
              class={relFrom ? 'choice on' : 'choice'}
              disabled={!selected && !relFrom}
              onClick={() => (relFrom ? setRelFrom(null) : startRelation())}
            >
              <kbd>R</kbd> {t('rel.start')}
            </button>
          </div>
          <p class="hint muted" data-testid="rel-hint">
            {relPair
              ? t('rel.pickLabel', { from: spanText(relPair.from), to: spanText(relPair.to) })
              : relFrom
                ? t('rel.pickTarget', { from: spanText(relFrom) })
                : t('rel.hint')}
          </p>
          {relPair && (
            <div class="choices rel-labels">
              {relLabels.map((label, i) => (
                <button key={label} class="label rel-label" data-rel-label={label} onClick={() => addRelation(label)}>
                  <kbd>{i + 1}</kbd> {label}
                </button>
              ))}
              <button onClick={() => setRelPair(null)}>{t('rel.cancel')}</button>
            </div>
          )}
          {relations.length === 0 ? (
            <p class="muted">{t('rel.none')}</p>
          ) : (
            <ul class="rel-list" data-testid="rel-list">
              {relations.map((r, i) => (
                <li
                  key={`${r.from}-${r.to}-${r.label}-${i}`}
                  data-from={r.from}
                  data-to={r.to}
                  data-label={r.label}
                  onMouseEnter={() => setHover(r)}
                  onMouseLeave={() => setHover(null)}
                >
                  <span class="rel-end rel-from">{spanText(r.from)}</span>
                  <span class="rel-arrow">→</span>
                  <span class="tag rel-tag">{r.label}</span>
                  <span class="rel-arrow">→</span>
                  <span class="rel-end rel-to">{spanText(r.to)}</span>
                  <button
                    class="remove"
                    aria-label={t('rel.remove', { from: spanText(r.from), to: spanText(r.to) })}
                    onClick={() => removeRelation(r)}
                  >
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
