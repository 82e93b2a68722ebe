// Ranking mode: order the task's responses, best first. Result
// {"ranking":[ids]} (every response id once). Until the annotator moves a
// response or confirms the order shown, the task is not ranked (no result):
// the task's own order is never submitted by default.
//
// Drag a response by its handle (pointer events: mouse, pen and touch), or
// select with ↑/↓ and move with Alt+↑/↓ (or the ▲/▼ buttons).
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { Text, useKeys, type ModeProps } from './common';
import { letter, moved, rankingOf, responses } from './model';

interface Drag {
  id: string;
  pointer: number;
  to: number; /* index in the order without the dragged response */
}

export function Ranking({ task, result, onChange }: ModeProps) {
  const resps = responses(task.data);
  const place = new Map(resps.map((r, i) => [r.id, i]));
  const ranked = rankingOf(result, resps);
  const order = ranked ?? resps.map((r) => r.id);
  const [sel, setSel] = useState<string | null>(null);
  const [drag, setDrag] = useState<Drag | null>(null);
  const listRef = useRef<HTMLOListElement>(null);

  /* keep the selected response in view */
  useEffect(() => {
    if (sel) listRef.current?.querySelector(`li[data-pos="${order.indexOf(sel) + 1}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [sel, order.join('\n')]);

  function set(next: string[]) {
    onChange({ ...result, ranking: next });
  }

  function move(id: string, delta: number) {
    const i = order.indexOf(id);
    const to = i + delta;
    if (i < 0 || to < 0 || to >= order.length) return;
    set(moved(order, i, to));
  }

  useKeys((ev) => {
    if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
    const delta = ev.key === 'ArrowUp' ? -1 : 1;
    ev.preventDefault();
    if (ev.altKey) {
      if (sel) move(sel, delta);
      return;
    }
    const i = sel ? order.indexOf(sel) : -1;
    const next = i < 0 ? (delta > 0 ? 0 : order.length - 1) : Math.max(0, Math.min(order.length - 1, i + delta));
    setSel(order[next]);
  });

  /* where the pointer at clientY would put `id`: among the others, before the first whose middle is below */
  function dropIndex(id: string, clientY: number): number {
    const items = listRef.current ? Array.from(listRef.current.children) : [];
    let to = 0;
    items.forEach((el, k) => {
      if (order[k] === id) return;
      const r = el.getBoundingClientRect();
      if (r.top + r.height / 2 < clientY) to++;
    });
    return to;
  }

  function onPointerDown(ev: PointerEvent, id: string) {
    if (ev.button !== 0) return;
    ev.preventDefault();
    (ev.currentTarget as HTMLElement).setPointerCapture(ev.pointerId);
    setSel(id);
    setDrag({ id, pointer: ev.pointerId, to: order.indexOf(id) });
  }
  function onPointerMove(ev: PointerEvent) {
    if (!drag || ev.pointerId !== drag.pointer) return;
    const to = dropIndex(drag.id, ev.clientY);
    if (to !== drag.to) setDrag({ ...drag, to });
  }
  function onPointerUp(ev: PointerEvent) {
    if (!drag || ev.pointerId !== drag.pointer) return;
    const to = dropIndex(drag.id, ev.clientY);
    const from = order.indexOf(drag.id);
    setDrag(null);
    if (to !== from) set(moved(order, from, to));
  }

  if (resps.length < 2) return <p class="error">{t('llm.rank.needTwo')}</p>;

  /* the drop marker: a line before others[to], or after the last */
  const others = drag ? order.filter((id) => id !== drag.id) : [];
  const dropBefore = drag && drag.to < others.length ? others[drag.to] : null;
  const dropAfter = drag && drag.to >= others.length ? others[others.length - 1] : null;
  const unchanged = drag && drag.to === order.indexOf(drag.id);

  return (
    <div class="group">
      <div class="rank-head">
        <h2>{t('llm.rank.title')}</h2>
        <span class="spacer" />
        {ranked ? (
          <span class="rank-state ok" data-testid="rank-state">
            {t('llm.rank.set')}
          </span>
        ) : (
          <button data-testid="rank-confirm" onClick={() => set(order)}>
            {t('llm.rank.confirm')}
          </button>
        )}
      </div>
      <ol class={drag ? 'ranking dragging' : 'ranking'} ref={listRef} data-testid="ranking" aria-label={t('llm.rank.title')}>
        {order.map((id, k) => {
          const r = resps[place.get(id) ?? 0];
          const cls = ['rank-item'];
          if (sel === id) cls.push('selected');
          if (drag?.id === id) cls.push('lifted');
          if (!unchanged && dropBefore === id) cls.push('drop-before');
          if (!unchanged && dropAfter === id) cls.push('drop-after');
          return (
            <li
              key={id}
              class={cls.join(' ')}
              data-id={id}
              data-pos={k + 1}
              aria-selected={sel === id}
              onClick={() => setSel(id)}
            >
              <div class="rank-side">
                <span class="pos">{t('llm.rank.position', { n: k + 1 })}</span>
                <span
                  class="handle"
                  data-testid="drag-handle"
                  title={t('llm.rank.drag')}
                  aria-hidden="true"
                  onPointerDown={(e) => onPointerDown(e, id)}
                  onPointerMove={onPointerMove}
                  onPointerUp={onPointerUp}
                  onPointerCancel={() => setDrag(null)}
                >
                  ⠿
                </span>
                <button
                  class="move"
                  aria-label={t('llm.rank.up', { label: letter(place.get(id) ?? 0) })}
                  disabled={k === 0}
                  onClick={(e) => {
                    e.stopPropagation();
                    setSel(id);
                    move(id, -1);
                  }}
                >
                  ▲
                </button>
                <button
                  class="move"
                  aria-label={t('llm.rank.down', { label: letter(place.get(id) ?? 0) })}
                  disabled={k === order.length - 1}
                  onClick={(e) => {
                    e.stopPropagation();
                    setSel(id);
                    move(id, 1);
                  }}
                >
                  ▼
                </button>
              </div>
              <div class="resp">
                <div class="resp-head">{t('llm.response', { label: letter(place.get(id) ?? 0) })}</div>
                <Text text={r.text} testid={`response-${id}`} />
              </div>
            </li>
          );
        })}
      </ol>
      <p class="hint muted">{t('llm.rank.hint')}</p>
    </div>
  );
}
