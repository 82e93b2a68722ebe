// Tool for kind "text": whole-text classes and labelled spans.
// Result {"classes":[...], "spans":[{"id","start","end","label"}]} with
// code-point offsets, end exclusive (src/schema/schema_text.c).
//
// Keys: with text selected, 1–9 label the selection as a span; with no
// selection, 1–9 toggle the classes. The text is rendered as text nodes only
// (never as HTML), so markup in task data stays inert.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
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
}

export function emptyResult(config: Record<string, unknown>): Record<string, unknown> {
  const c = config as TextConfig;
  const r: Record<string, unknown> = {};
  if (c.classes) r.classes = [];
  if (c.spans) r.spans = [];
  return r;
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

  useEffect(() => setPending(null), [task.id]);

  function toggleClass(name: string) {
    let next: string[];
    if (classes.includes(name)) next = classes.filter((x) => x !== name);
    else next = c.classes?.multiple ? [...classes, name] : [name];
    onChange({ ...result, classes: next });
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
    const span: Span = { id: nextSpanId(spans), start: pending.start, end: pending.end, label };
    const next = [...spans, span].sort((a, b) => a.start - b.start || a.end - b.end);
    onChange({ ...result, spans: next });
    setPending(null);
    setWarning('');
    window.getSelection()?.removeAllRanges();
  }

  function removeSpan(span: Span) {
    onChange({ ...result, spans: spans.filter((s) => s !== span) });
  }

  function readSelection() {
    if (!textRef.current || !c.spans) return;
    setPending(selectionOffsets(textRef.current, cps.length));
    setWarning('');
  }

  useEffect(() => {
    function onKey(ev: KeyboardEvent) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const target = ev.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA')) return;
      const d = ev.key >= '1' && ev.key <= '9' ? Number(ev.key) - 1 : -1;
      if (d < 0) {
        if (ev.key === 'Escape') {
          setPending(null);
          window.getSelection()?.removeAllRanges();
        }
        return;
      }
      const selected = currentSelection();
      if (selected && d < labels.length) {
        ev.preventDefault();
        addSpan(labels[d]);
      } else if (!selected && d < choices.length) {
        ev.preventDefault();
        toggleClass(choices[d]);
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  if (!text) return <p class="error">{t('ann.noText')}</p>;

  return (
    <div class="text-tool">
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
          return (
            <mark
              key={seg.start}
              class={`span lab-${li}${endsHere ? ' span-end' : ''}`}
              data-label={endsHere ? first.label : undefined}
              data-start={seg.start}
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
                  <li key={`${s.start}-${s.end}-${s.label}`}>
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
    </div>
  );
}
