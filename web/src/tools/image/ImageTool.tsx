// Tool for kind "image": boxes (rotatable), polygons, polylines and
// keypoints on one image, plus whole-image classes (src/schema/schema_image.c).
// Result {"classes":[...], "objects":[{"id","type","label",...}]} in image
// pixels, origin top-left, every coordinate clamped to the image.
//
// Keys: V select, B box, P polygon, L polyline, K keypoints; a label's
// hotkey (else 1–9) picks the label (and relabels the selected object);
// Enter closes a polygon / ends a polyline, Esc cancels or deselects,
// Delete removes the selected object, Ctrl+Z / Ctrl+Shift+Z undo and redo,
// F fits the image. Wheel zooms about the cursor; space+drag or the middle
// button pans. Konva lives in canvas.ts; this component owns the result.
//
// Vertex editing (the selected polygon or polyline): a click on an edge's
// midpoint handle (or Alt+click on an edge) inserts a vertex; a click on a
// vertex picks it, then Delete/Backspace removes it; a right-click on a
// vertex removes it (never below 3 for a polygon, 2 for a polyline).
// Keypoints (selected, Select tool): a click picks a point, V cycles its
// visibility visible (2) → occluded (1) → absent (0, stored [0,0,0]) →
// visible; a right-click cycles too, Delete makes it absent; the side panel
// lists the points and cycles one on a click. Every edit is one undo step.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { t, type MessageKey } from '../../i18n';
import type { Task } from '../../api';
import type { ToolProps } from '../types';
import { ImageCanvas, type Draft } from './canvas';
import {
  emptyImageResult,
  imageUrl,
  labelColor,
  labelHotkey,
  deleteVertex,
  keypointHome,
  minVertices,
  nextObjectId,
  nextVisibility,
  setVisibility,
  vertexEditable,
  type PointsObject,
  type Visibility,
  type ImageConfig,
  type ImageObject,
  type ImageResult,
  type LabelConfig,
  type Mode,
  type ShapeType,
} from './model';
import './image.css';

export function emptyResult(config: Record<string, unknown>): Record<string, unknown> {
  return emptyImageResult(config as ImageConfig);
}

/* A prefetched task's image into the browser's cache (media is cacheable), so it shows at once. */
export function preload(task: Task): void {
  const url = imageUrl(task.data.image);
  if (url) new Image().src = url;
}

const MODE_KEYS: Record<string, Mode> = { v: 'select', b: 'box', p: 'polygon', l: 'polyline', k: 'keypoints' };
const MODE_KEY: Record<Mode, string> = { select: 'V', box: 'B', polygon: 'P', polyline: 'L', keypoints: 'K' };
const HISTORY = 200;
const LIST_MAX = 500; /* the object list shows this many; the canvas shows all */

function positive(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

export function Tool({ task, config, result, onChange }: ToolProps) {
  const c = config as ImageConfig;
  const labels: LabelConfig[] = useMemo(() => (Array.isArray(c.labels) ? c.labels : []), [config]);
  const kpLabels = labels.filter((l) => l.keypoints && l.keypoints.length);
  const tools = useMemo(
    () => (c.tools ?? []).filter((m: ShapeType) => m !== 'keypoints' || labels.some((l) => l.keypoints?.length)),
    [config],
  );
  const choices = c.classes?.choices ?? [];
  const r = result as ImageResult;
  const objects: ImageObject[] = Array.isArray(r.objects) ? r.objects : [];
  const classes: string[] = Array.isArray(r.classes) ? r.classes : [];

  const url = imageUrl(task.data.image);
  const [size, setSize] = useState<{ W: number; H: number } | null>(null);
  const [mode, setModeState] = useState<Mode>(tools[0] ?? 'select');
  const [label, setLabelState] = useState(labels[0]?.name ?? '');
  const [selected, setSelectedState] = useState<number | null>(null);
  const [vertex, setVertex] = useState<number | null>(null); /* the picked vertex of the selected object */
  const [notice, setNotice] = useState('');
  const [draft, setDraft] = useState<Draft | null>(null);
  const [scale, setScale] = useState(1);
  const [loadError, setLoadError] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [, setTick] = useState(0); /* re-render when the history changes */

  const hostRef = useRef<HTMLDivElement>(null);
  const canvas = useRef<ImageCanvas | null>(null);
  const history = useRef({ past: [] as ImageResult[], future: [] as ImageResult[] });
  /* where each keypoint made absent was, "<object id>:<k>" → [x, y]: it comes back there */
  const kpHome = useRef(new Map<string, number[]>());
  /* what the canvas callbacks read: always this render's values */
  const live = useRef({ result: r, objects, label, onChange, vertexMenu: (_k: number) => {} });
  live.current = { result: r, objects, label, onChange, vertexMenu };

  function setSelected(i: number | null) {
    setSelectedState(i);
    setVertex(null);
    setNotice('');
  }

  function commit(next: ImageResult) {
    setNotice('');
    const h = history.current;
    h.past.push(live.current.result);
    if (h.past.length > HISTORY) h.past.shift();
    h.future = [];
    live.current.result = next;
    live.current.objects = next.objects;
    live.current.onChange(next);
    setTick((n) => n + 1);
  }

  function undo() {
    const h = history.current;
    const prev = h.past.pop();
    if (!prev) return;
    h.future.push(live.current.result);
    canvas.current?.cancelDraft();
    setSelected(null);
    live.current.onChange(prev);
    setTick((n) => n + 1);
  }

  function redo() {
    const h = history.current;
    const next = h.future.pop();
    if (!next) return;
    h.past.push(live.current.result);
    setSelected(null);
    live.current.onChange(next);
    setTick((n) => n + 1);
  }

  /* the canvas, made once */
  useLayoutEffect(() => {
    const cv = new ImageCanvas(hostRef.current!, {
      create(o) {
        const cur = live.current.objects;
        const obj = { id: nextObjectId(cur), ...o } as ImageObject;
        commit({ ...live.current.result, objects: [...cur, obj] });
        setSelected(cur.length);
      },
      update(i, o) {
        const next = live.current.objects.slice();
        next[i] = o;
        commit({ ...live.current.result, objects: next });
      },
      select: setSelected,
      draft: setDraft,
      view: setScale,
      vertex: setVertex,
      vertexMenu: (k) => live.current.vertexMenu(k),
    });
    canvas.current = cv;
    (hostRef.current as unknown as { __imageCanvas: ImageCanvas }).__imageCanvas = cv; /* for the e2e timing */
    return () => {
      cv.destroy();
      canvas.current = null;
    };
  }, []);

  /* a new task: its image, a fresh history */
  useLayoutEffect(() => {
    const W = positive(task.data.width);
    const H = positive(task.data.height);
    history.current = { past: [], future: [] };
    kpHome.current = new Map();
    setSelected(null);
    setLoadError(false);
    setLoaded(false);
    setSize(W && H ? { W, H } : null);
    canvas.current?.setImage(
      url,
      W ?? 1,
      H ?? 1,
      () => setLoadError(true),
      (w, h) => {
        setLoaded(true);
        /* the task's width/height bound the result; without them, the picture's own size */
        if (!W || !H) {
          setSize({ W: w, H: h });
          canvas.current?.setSize(w, h);
        }
      },
    );
  }, [task.id]);

  /* layout effects: the canvas is in step before the next mouse or key event */
  useLayoutEffect(() => {
    canvas.current?.setData(objects, labels, selected);
  }, [r, labels, selected]);
  useLayoutEffect(() => canvas.current?.setVertex(vertex), [vertex]);
  useLayoutEffect(() => canvas.current?.setMode(mode), [mode]);
  useLayoutEffect(() => canvas.current?.setLabel(label), [label]);
  useEffect(() => {
    if (selected !== null && selected >= objects.length) setSelected(null);
  }, [objects.length, selected]);

  function setMode(m: Mode) {
    setModeState(m);
    /* keypoints need a label that has some */
    if (m === 'keypoints' && !kpLabels.some((l) => l.name === label) && kpLabels[0]) setLabelState(kpLabels[0].name);
  }

  /* keypoints objects keep labels with as many keypoints */
  function canRelabel(o: ImageObject, l: LabelConfig): boolean {
    if (o.type !== 'keypoints') return true;
    const cur = labels.find((x) => x.name === o.label);
    return (l.keypoints?.length ?? 0) === (cur?.keypoints?.length ?? -1);
  }

  function pickLabel(l: LabelConfig) {
    if (mode === 'keypoints' && !l.keypoints?.length) return;
    setLabelState(l.name);
    if (selected !== null && objects[selected] && objects[selected].label !== l.name && canRelabel(objects[selected], l)) {
      const next = objects.slice();
      next[selected] = { ...objects[selected], label: l.name };
      commit({ ...r, objects: next });
    }
  }

  function remove(i: number) {
    commit({ ...r, objects: objects.filter((_, k) => k !== i) });
    setSelected(null);
  }

  const sel = selected !== null ? objects[selected] : undefined;
  const selKp = sel && sel.type === 'keypoints' ? (sel as PointsObject) : undefined;
  const kpNames = selKp ? (labels.find((l) => l.name === selKp.label)?.keypoints ?? []) : [];

  /* Keypoint k of the selected keypoints object at visibility v (one undo step). */
  function setKeypoint(k: number, v: Visibility) {
    if (selected === null || !selKp) return;
    const p = selKp.points?.[k];
    if (!p || p[2] === v) return;
    const key = `${selKp.id ?? selected}:${k}`;
    if (v === 0 && p[2]) kpHome.current.set(key, [p[0], p[1]]);
    const at = kpHome.current.get(key) ?? keypointHome(selKp, size?.W ?? 1, size?.H ?? 1);
    const next = objects.slice();
    next[selected] = setVisibility(selKp, k, v, at);
    commit({ ...r, objects: next });
    setVertex(k);
  }

  function cycleKeypoint(k: number) {
    const p = selKp?.points?.[k];
    if (p) setKeypoint(k, nextVisibility(p[2]));
  }

  /* Remove vertex k of the selected polygon or polyline; a keypoint becomes absent. */
  function deleteVertexAt(k: number) {
    if (selected === null || !sel) return;
    if (selKp) {
      setKeypoint(k, 0);
      return;
    }
    if (!vertexEditable(sel)) return;
    const o = deleteVertex(sel, k);
    if (!o) {
      setNotice(t('img.minVertices', { shape: t(`img.tool.${sel.type}` as MessageKey), n: minVertices(sel) }));
      return;
    }
    const next = objects.slice();
    next[selected] = o;
    commit({ ...r, objects: next });
    setVertex(null);
  }

  /* a right-click on a vertex handle */
  function vertexMenu(k: number) {
    if (selKp) cycleKeypoint(k);
    else deleteVertexAt(k);
  }

  function toggleClass(name: string) {
    let next: string[];
    if (classes.includes(name)) next = classes.filter((x) => x !== name);
    else next = c.classes?.multiple ? [...classes, name] : [name];
    commit({ ...r, classes: next });
  }

  /* a layout effect: the handler sees this render's state before the next key comes */
  useLayoutEffect(() => {
    function onKey(ev: KeyboardEvent) {
      const target = ev.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT')) return;
      if (ev.altKey) return;
      const key = ev.key.toLowerCase();
      if (ev.ctrlKey || ev.metaKey) {
        if (key === 'z') {
          ev.preventDefault();
          if (ev.shiftKey) redo();
          else undo();
        } else if (key === 'y') {
          ev.preventDefault();
          redo();
        }
        return; /* Ctrl+Enter and the rest are the stream's */
      }
      const cv = canvas.current;
      if (ev.key === ' ') {
        ev.preventDefault();
        cv?.setSpace(true);
        return;
      }
      if (ev.key === 'Enter') {
        if (cv?.hasDraft()) {
          ev.preventDefault();
          cv.finishDraft();
        }
        return;
      }
      if (ev.key === 'Escape') {
        if (cv?.hasDraft()) cv.cancelDraft();
        else if (vertex !== null) setVertex(null);
        else setSelected(null);
        return;
      }
      if ((ev.key === 'Delete' || ev.key === 'Backspace') && selected !== null) {
        ev.preventDefault();
        if (vertex !== null) deleteVertexAt(vertex);
        else remove(selected);
        return;
      }
      /* V with a keypoint picked (in the Select tool, where V has nothing else to do) cycles its visibility */
      if (key === 'v' && mode === 'select' && selKp && vertex !== null) {
        ev.preventDefault();
        cycleKeypoint(vertex);
        return;
      }
      if (key === 'f') {
        cv?.fit();
        return;
      }
      const m = MODE_KEYS[key];
      if (m && (m === 'select' || tools.includes(m))) {
        ev.preventDefault();
        setMode(m);
        return;
      }
      const li = labels.findIndex((_, i) => labelHotkey(labels, i) === ev.key);
      if (li >= 0) {
        ev.preventDefault();
        pickLabel(labels[li]);
      }
    }
    function onKeyUp(ev: KeyboardEvent) {
      if (ev.key === ' ') canvas.current?.setSpace(false);
    }
    function onBlur() {
      canvas.current?.setSpace(false);
    }
    window.addEventListener('keydown', onKey);
    window.addEventListener('keyup', onKeyUp);
    window.addEventListener('blur', onBlur);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('keyup', onKeyUp);
      window.removeEventListener('blur', onBlur);
    };
  });

  const keepFocus = (e: MouseEvent) => e.preventDefault(); /* keys stay with the page, not the button */
  const h = history.current;
  const curLabel = labels.find((l) => l.name === label);
  let hint: string;
  if (mode === 'keypoints') {
    const names = curLabel?.keypoints ?? [];
    const k = draft?.points ?? 0;
    hint = t('img.hint.keypoints', { name: names[k] ?? '', i: k + 1, n: names.length });
  } else if (mode === 'polygon' || mode === 'polyline') {
    hint = t(draft ? `img.hint.${mode}Drawing` : `img.hint.${mode}`);
  } else if (mode === 'select' && sel && vertex !== null) {
    hint = selKp
      ? t('img.hint.keypointPicked', { name: kpNames[vertex] ?? String(vertex + 1) })
      : t('img.hint.vertexPicked', { i: vertex + 1, n: (sel as PointsObject).points?.length ?? 0 });
  } else if (mode === 'select' && selKp) hint = t('img.hint.keypointsSelected');
  else if (vertexEditable(sel)) hint = t('img.hint.shapeSelected');
  else hint = t(`img.hint.${mode}` as MessageKey);

  return (
    <div class="image-tool">
      <div class="img-bar" role="toolbar">
        <div class="img-tools" role="group" aria-label={t('img.tools')}>
          {(['select', ...tools] as Mode[]).map((m) => (
            <button
              key={m}
              class={m === mode ? 'tool on' : 'tool'}
              aria-pressed={m === mode}
              data-tool={m}
              onMouseDown={keepFocus}
              onClick={() => setMode(m)}
            >
              <kbd>{MODE_KEY[m]}</kbd> {t(`img.tool.${m}` as MessageKey)}
            </button>
          ))}
        </div>
        <div class="img-labels" role="group" aria-label={t('img.labels')}>
          {labels.map((l, i) => {
            const hk = labelHotkey(labels, i);
            const off = mode === 'keypoints' && !l.keypoints?.length;
            return (
              <button
                key={l.name}
                class={l.name === label ? 'img-label on' : 'img-label'}
                aria-pressed={l.name === label}
                data-label={l.name}
                disabled={off}
                onMouseDown={keepFocus}
                onClick={() => pickLabel(l)}
              >
                <span class="swatch" style={{ background: labelColor(labels, l.name) }} />
                {hk && <kbd>{hk}</kbd>} {l.name}
              </button>
            );
          })}
        </div>
        <span class="spacer" />
        <button data-testid="undo" disabled={!h.past.length} onMouseDown={keepFocus} onClick={undo} title="Ctrl+Z">
          {t('img.undo')}
        </button>
        <button data-testid="redo" disabled={!h.future.length} onMouseDown={keepFocus} onClick={redo} title="Ctrl+Shift+Z">
          {t('img.redo')}
        </button>
        <button data-testid="fit" onMouseDown={keepFocus} onClick={() => canvas.current?.fit()}>
          <kbd>F</kbd> {t('img.fit')}
        </button>
        <span class="muted zoom" data-testid="zoom">
          {t('img.zoom', { pct: Math.round(scale * 100) })}
        </span>
      </div>
      {/* a refused edit says why in the hint's place: the stage never moves under the mouse */}
      {notice ? (
        <p class="hint error" role="alert" data-testid="img-notice" title={notice}>
          {notice}
        </p>
      ) : (
        <p class="hint muted" data-testid="img-hint" title={`${hint} · ${t('img.navHint')}`}>
          {hint} · {t('img.navHint')}
        </p>
      )}
      {!url && (
        <p class="error" role="alert">
          {t('img.noImage')}
        </p>
      )}
      {loadError && (
        <p class="error" role="alert">
          {t('img.loadError')}
        </p>
      )}
      <div class="img-main">
        <div class="img-stage" ref={hostRef} data-testid="image-stage" data-mode={mode} data-loaded={loaded ? '1' : undefined} data-size={size ? `${size.W}x${size.H}` : ''} />
        <aside class="img-side">
          {c.classes && (
            <div class="group">
              <h2>{t('ann.classes')}</h2>
              <div class="choices" role="group">
                {choices.map((name) => (
                  <button
                    key={name}
                    class={classes.includes(name) ? 'choice on' : 'choice'}
                    aria-pressed={classes.includes(name)}
                    data-class={name}
                    onMouseDown={keepFocus}
                    onClick={() => toggleClass(name)}
                  >
                    {name}
                  </button>
                ))}
              </div>
            </div>
          )}
          {selKp && (
            <div class="group kp-panel" data-testid="keypoints">
              <h2>{t('img.keypoints')}</h2>
              <ul class="kp-list">
                {(selKp.points ?? []).map((p, k) => {
                  const v = (p[2] === 1 || p[2] === 2 ? p[2] : 0) as Visibility;
                  const name = kpNames[k] ?? String(k + 1);
                  return (
                    <li key={k} class={k === vertex ? 'on' : ''} data-kp={k} data-v={v}>
                      <button class="kp-name" onMouseDown={keepFocus} onClick={() => setVertex(k)}>
                        {name}
                      </button>
                      <button
                        class={`kp-vis kp-v${v}`}
                        data-testid="kp-vis"
                        aria-label={t('img.kpCycle', { name, state: t(`img.kp.${v}` as MessageKey) })}
                        onMouseDown={keepFocus}
                        onClick={() => cycleKeypoint(k)}
                      >
                        {t(`img.kp.${v}` as MessageKey)}
                      </button>
                    </li>
                  );
                })}
              </ul>
              <p class="hint muted">{t('img.kpHint')}</p>
            </div>
          )}
          <div class="group">
            <h2>
              {t('img.objects')} <span class="muted">({objects.length})</span>
            </h2>
            {objects.length === 0 ? (
              <p class="muted">{t('img.noObjects')}</p>
            ) : (
              <ul class="obj-list" data-testid="object-list">
                {objects.slice(0, LIST_MAX).map((o, i) => (
                  <li
                    key={o.id ?? i}
                    class={i === selected ? 'on' : ''}
                    data-index={i}
                    onMouseDown={keepFocus}
                    onClick={() => setSelected(i)}
                  >
                    <span class="swatch" style={{ background: labelColor(labels, o.label) }} />
                    <span class="obj-label">{o.label}</span>
                    <span class="muted">{t(`img.tool.${o.type}` as MessageKey)}</span>
                    <button
                      class="remove"
                      aria-label={t('img.remove', { label: o.label })}
                      onClick={(e) => {
                        e.stopPropagation();
                        remove(i);
                      }}
                    >
                      ×
                    </button>
                  </li>
                ))}
              </ul>
            )}
            {objects.length > LIST_MAX && <p class="muted">{t('img.listMore', { n: objects.length - LIST_MAX })}</p>}
          </div>
        </aside>
      </div>
    </div>
  );
}
