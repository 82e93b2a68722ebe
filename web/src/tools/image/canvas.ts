// The Konva side of the image tool: a stage whose layer coordinates are
// image pixels, with one layer per concern:
//   image    the picture (not listening)
//   objects  every object but the selected one, drawn by ONE shape whose
//            sceneFunc paths all objects of a label at once (not listening:
//            clicks are hit-tested here in image coordinates), so thousands
//            of shapes cost one fill and one stroke per label and no nodes
//   edit     the selected object as real nodes (drag, vertex handles,
//            edge-midpoint handles that insert a vertex, Transformer) —
//            the only layer that listens
//   draft    what is being drawn (not listening)
// The component owns the result; this class only reports gestures through
// the callbacks and redraws with batchDraw.
import Konva from 'konva/lib/Core';
import { Circle } from 'konva/lib/shapes/Circle';
import { Image as KImage } from 'konva/lib/shapes/Image';
import { Line } from 'konva/lib/shapes/Line';
import { Rect } from 'konva/lib/shapes/Rect';
import { Transformer } from 'konva/lib/shapes/Transformer';
import type { KonvaEventObject } from 'konva/lib/Node';
import {
  boxCorners,
  clamp,
  clampBox,
  clampPoint,
  insertVertex,
  labelColor,
  nearestEdge,
  objectAt,
  round,
  vertexEditable,
  type BoxObject,
  type ImageObject,
  type LabelConfig,
  type Mode,
  type PointsObject,
} from './model';

export interface Draft {
  type: 'box' | 'polygon' | 'polyline' | 'keypoints';
  points: number; /* placed so far */
}

export interface CanvasCallbacks {
  create(obj: ImageObject): void;
  update(index: number, obj: ImageObject): void;
  select(index: number | null): void;
  draft(d: Draft | null): void;
  view(scale: number): void;
  /* the vertex (or keypoint) of the selected object picked by a click on its handle, or null */
  vertex(k: number | null): void;
  /* a right-click on vertex k of the selected object (delete it / cycle a keypoint's visibility) */
  vertexMenu(k: number): void;
}

const HANDLE_R = 5; /* screen px */
const MID_R = 3.5; /* screen px: an edge's midpoint handle */
const HIT_TOL = 6; /* screen px */
const MIN_BOX = 3; /* screen px: a smaller drag is a click */
const CACHE_MAX_PX = 8e6; /* the objects bitmap, at most (32 MB) */

interface Group {
  color: string;
  areas: number[]; /* boxes and polygons */
  lines: number[];
  keypoints: number[];
}

type BBox = [number, number, number, number];

function bboxOf(o: ImageObject): BBox {
  let pts: number[][];
  if (o.type === 'box') pts = boxCorners(o);
  else pts = o.parts ? o.parts.flat() : (o.points ?? []);
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const p of pts) {
    if (o.type === 'keypoints' && p[2] === 0) continue;
    if (p[0] < x0) x0 = p[0];
    if (p[0] > x1) x1 = p[0];
    if (p[1] < y0) y0 = p[1];
    if (p[1] > y1) y1 = p[1];
  }
  return [x0, y0, x1, y1];
}

export class ImageCanvas {
  private stage: Konva.Stage;
  private imageLayer = new Konva.Layer({ listening: false });
  private objectsLayer = new Konva.Layer({ listening: false });
  private editLayer = new Konva.Layer();
  private draftLayer = new Konva.Layer({ listening: false });
  private picture = new KImage({ image: undefined, listening: false });
  private placeholder = new Rect({ fill: '#d9dce3', listening: false });
  private draftRect: Rect = new Rect({ strokeWidth: 1.5, strokeScaleEnabled: false, dash: [6, 4], visible: false });
  private draftLine: Line = new Line({ strokeWidth: 1.5, strokeScaleEnabled: false, visible: false, points: [] });
  private draftDots = new Konva.Group();

  private W = 1;
  private H = 1;
  private objects: ImageObject[] = [];
  private bboxes: BBox[] = [];
  private groups: Group[] = [];
  private labels: LabelConfig[] = [];
  private selected: number | null = null;
  private vertex: number | null = null; /* the picked vertex of the selected object */
  private mode: Mode = 'select';
  private label = '';
  private space = false;
  private fitted = true; /* the view follows the container until the user zooms or pans */
  private gesture: null | { kind: 'pan' | 'box'; sx: number; sy: number; x0: number; y0: number } = null;
  private pts: number[][] = []; /* the polygon, polyline or keypoints being drawn */
  private pointer: number[] | null = null;
  private resize: ResizeObserver;
  private imgEl: HTMLImageElement | null = null;
  /* the objects as a bitmap of the whole image at cacheScale: a pan is one drawImage */
  private cache: HTMLCanvasElement | null = null;
  private cacheScale = 0;
  private cacheDirty = true;
  private recacheTimer = 0;
  lastCacheMs = 0; /* the last redraw of that bitmap */
  lastDrawMs = 0; /* the objects layer's last paint (the e2e test prints it) */

  constructor(private container: HTMLDivElement, private cb: CanvasCallbacks) {
    this.stage = new Konva.Stage({ container, width: container.clientWidth || 600, height: container.clientHeight || 400 });
    this.imageLayer.add(this.placeholder, this.picture);
    const all = new Konva.Shape({
      listening: false,
      perfectDrawEnabled: false,
      sceneFunc: (ctx) => this.paintObjects((ctx as unknown as { _context: CanvasRenderingContext2D })._context),
    });
    this.objectsLayer.add(all);
    this.draftLayer.add(this.draftRect, this.draftLine, this.draftDots);
    this.stage.add(this.imageLayer, this.objectsLayer, this.editLayer, this.draftLayer);

    this.stage.on('mousedown', (e) => this.onDown(e));
    /* space+drag pans even over the selected object */
    this.editLayer.on('dragstart', (e) => {
      if (this.space) e.target.stopDrag();
    });
    this.stage.on('dblclick', () => {
      if (this.mode === 'polygon' || this.mode === 'polyline') this.finishDraft();
    });
    container.addEventListener('wheel', this.onWheel, { passive: false });
    container.addEventListener('mousemove', this.onHover);
    container.addEventListener('contextmenu', (e) => e.preventDefault());
    this.resize = new ResizeObserver(() => this.onResize());
    this.resize.observe(container);
    this.publishView();
  }

  destroy(): void {
    clearTimeout(this.recacheTimer);
    this.cache = null;
    this.resize.disconnect();
    this.container.removeEventListener('wheel', this.onWheel);
    this.container.removeEventListener('mousemove', this.onHover);
    this.endGesture();
    this.stage.destroy();
  }

  /* ---- inputs from the component ------------------------------------ */

  setImage(url: string | null, W: number, H: number, onError: () => void, onLoad: (w: number, h: number) => void): void {
    this.W = W;
    this.H = H;
    this.placeholder.size({ width: W, height: H });
    this.cacheDirty = true;
    this.picture.image(undefined);
    this.picture.size({ width: W, height: H });
    this.cancelDraft();
    this.fitted = true;
    this.fit();
    if (this.imgEl) this.imgEl.onload = this.imgEl.onerror = null;
    if (!url) return;
    const img = new window.Image();
    this.imgEl = img;
    img.onload = () => {
      if (this.imgEl !== img) return;
      onLoad(img.naturalWidth, img.naturalHeight);
      this.picture.image(img);
      this.imageLayer.batchDraw();
    };
    img.onerror = () => {
      if (this.imgEl === img) onError();
    };
    img.src = url;
  }

  /* The image's size when the task did not give it. */
  setSize(W: number, H: number): void {
    this.W = W;
    this.H = H;
    this.placeholder.size({ width: W, height: H });
    this.picture.size({ width: W, height: H });
    this.cacheDirty = true;
    if (this.fitted) this.fit();
  }

  setData(objects: ImageObject[], labels: LabelConfig[], selected: number | null): void {
    const changed = objects !== this.objects || labels !== this.labels;
    this.objects = objects;
    this.labels = labels;
    const sel = selected !== null && selected < objects.length ? selected : null;
    if (sel !== this.selected) this.vertex = null;
    this.selected = sel;
    const pts = sel === null ? undefined : (objects[sel] as PointsObject).points;
    if (this.vertex !== null && (!pts || this.vertex >= pts.length)) this.vertex = null;
    if (changed) this.bboxes = objects.map(bboxOf);
    this.regroup();
    this.cacheDirty = true;
    this.renderEdit();
    this.objectsLayer.batchDraw();
  }

  /* Pick vertex k of the selected object (null: none); only restyles the handles. */
  setVertex(k: number | null): void {
    if (k === this.vertex) return;
    this.vertex = k;
    this.styleHandles();
    this.editLayer.batchDraw();
  }

  setMode(mode: Mode): void {
    if (mode === this.mode) return;
    this.cancelDraft();
    this.mode = mode;
    this.updateCursor();
    this.renderEdit();
  }

  setLabel(label: string): void {
    this.label = label;
    if (this.pts.length) this.renderDraft();
  }

  setSpace(held: boolean): void {
    this.space = held;
    this.updateCursor();
  }

  hasDraft(): boolean {
    return this.pts.length > 0 || this.gesture?.kind === 'box';
  }

  fit(): void {
    const cw = this.stage.width();
    const ch = this.stage.height();
    const s = Math.min(cw / this.W, ch / this.H);
    this.stage.scale({ x: s, y: s });
    this.stage.position({ x: (cw - this.W * s) / 2, y: (ch - this.H * s) / 2 });
    this.fitted = true;
    this.viewChanged();
  }

  /* Zoom by `factor` about the screen point (sx, sy), by default the centre. */
  zoom(factor: number, sx = this.stage.width() / 2, sy = this.stage.height() / 2): void {
    const s = this.stage.scaleX();
    const ns = clamp(s * factor, 0.01, 64);
    const ix = (sx - this.stage.x()) / s;
    const iy = (sy - this.stage.y()) / s;
    this.stage.scale({ x: ns, y: ns });
    this.stage.position({ x: sx - ix * ns, y: sy - iy * ns });
    this.fitted = false;
    this.viewChanged();
  }

  /* Move the view by (dx, dy) screen pixels. */
  panBy(dx: number, dy: number): void {
    this.stage.position({ x: this.stage.x() + dx, y: this.stage.y() + dy });
    this.fitted = false;
    this.viewChanged();
  }

  cancelDraft(): void {
    if (this.gesture?.kind === 'box') this.endGesture();
    this.pts = [];
    this.renderDraft();
    this.cb.draft(null);
  }

  /* Enter or a double-click: close the polygon, end the polyline or keypoints. */
  finishDraft(): void {
    const pts = this.pts;
    if (this.mode === 'polygon' && pts.length >= 3) {
      this.emitCreate({ type: 'polygon', label: this.label, points: pts });
    } else if (this.mode === 'polyline' && pts.length >= 2) {
      this.emitCreate({ type: 'polyline', label: this.label, points: pts });
    } else if (this.mode === 'keypoints' && pts.length > 0) {
      const n = this.kpNames().length;
      const full = pts.slice();
      while (full.length < n) full.push([0, 0, 0]);
      this.emitCreate({ type: 'keypoints', label: this.label, points: full });
    } else return;
    this.pts = [];
    this.renderDraft();
    this.cb.draft(null);
  }

  /* ---- view ------------------------------------------------------------ */

  private onResize(): void {
    const w = this.container.clientWidth;
    const h = this.container.clientHeight;
    if (!w || !h || (w === this.stage.width() && h === this.stage.height())) return;
    this.stage.size({ width: w, height: h });
    if (this.fitted) this.fit();
    else this.viewChanged();
  }

  private viewChanged(): void {
    const s = this.stage.scaleX();
    for (const h of this.editLayer.find('.handle')) (h as Circle).radius(HANDLE_R / s);
    for (const h of this.editLayer.find('.mid')) (h as Circle).radius(MID_R / s);
    for (const d of this.draftDots.getChildren()) if (d instanceof Circle) d.radius(HANDLE_R / s);
    this.publishView();
    this.stage.batchDraw();
  }

  private publishView(): void {
    /* the view for tests and tools: screen = offset + image px * scale */
    const d = this.container.dataset;
    d.scale = String(this.stage.scaleX());
    d.x = String(this.stage.x());
    d.y = String(this.stage.y());
    if (this.stage.scaleX() !== this.lastScale) {
      this.lastScale = this.stage.scaleX();
      this.cb.view(this.lastScale);
    }
  }

  private lastScale = 0;

  private onWheel = (ev: WheelEvent): void => {
    ev.preventDefault();
    const r = this.container.getBoundingClientRect();
    const dy = ev.deltaMode === 1 ? ev.deltaY * 33 : ev.deltaY;
    this.zoom(Math.pow(1.0015, -clamp(dy, -300, 300)), ev.clientX - r.left, ev.clientY - r.top);
  };

  private updateCursor(): void {
    const c = this.container.style;
    if (this.gesture?.kind === 'pan') c.cursor = 'grabbing';
    else if (this.space) c.cursor = 'grab';
    else c.cursor = this.mode === 'select' ? 'default' : 'crosshair';
  }

  /* ---- pointer --------------------------------------------------------- */

  private toImage(clientX: number, clientY: number): number[] {
    const r = this.container.getBoundingClientRect();
    const s = this.stage.scaleX();
    return [(clientX - r.left - this.stage.x()) / s, (clientY - r.top - this.stage.y()) / s];
  }

  private onDown(e: KonvaEventObject<MouseEvent>): void {
    const ev = e.evt;
    if (ev.button === 1 || (ev.button === 0 && this.space)) {
      ev.preventDefault();
      this.startGesture('pan', ev);
      return;
    }
    const raw = this.toImage(ev.clientX, ev.clientY);
    const s = this.stage.scaleX();
    if (ev.button === 0 && ev.altKey && this.selected !== null && !this.pts.length && !e.target.hasName('handle')) {
      /* Alt+click on an edge of the selected polygon or polyline inserts a vertex there */
      const o = this.objects[this.selected];
      if (vertexEditable(o)) {
        const hit = nearestEdge(o.points!, o.type === 'polygon', raw[0], raw[1], (HIT_TOL * 1.5) / s);
        if (hit) {
          ev.preventDefault(); /* the group's pending drag ends with it: the edit layer is redrawn */
          this.emitInsert(this.selected, o, hit.edge, hit.point);
          return;
        }
      }
    }
    if (ev.button !== 0 || e.target !== (this.stage as unknown)) return; /* the edit layer's nodes handle their own */
    const p = clampPoint(raw, this.W, this.H);
    switch (this.mode) {
      case 'select': {
        const i = objectAt(this.objects, raw[0], raw[1], HIT_TOL / s);
        this.cb.select(i < 0 ? null : i);
        return;
      }
      case 'box':
        this.startGesture('box', ev);
        return;
      case 'polygon':
      case 'polyline': {
        const last = this.pts[this.pts.length - 1];
        if (last && Math.hypot(last[0] - p[0], last[1] - p[1]) * s < 3) return; /* the 2nd click of a double-click */
        const first = this.pts[0];
        if (this.mode === 'polygon' && this.pts.length >= 3 && Math.hypot(first[0] - p[0], first[1] - p[1]) * s < HANDLE_R * 2) {
          this.finishDraft(); /* a click on the first point closes */
          return;
        }
        if (!this.pts.length && this.selected !== null) this.cb.select(null);
        this.pts = [...this.pts, p];
        this.pointer = p;
        this.renderDraft();
        this.cb.draft({ type: this.mode, points: this.pts.length });
        return;
      }
      case 'keypoints': {
        const n = this.kpNames().length;
        if (!n) return;
        if (!this.pts.length && this.selected !== null) this.cb.select(null);
        this.pts = [...this.pts, [p[0], p[1], ev.shiftKey ? 1 : 2]];
        if (this.pts.length >= n) this.finishDraft();
        else {
          this.renderDraft();
          this.cb.draft({ type: 'keypoints', points: this.pts.length });
        }
        return;
      }
    }
  }

  private onHover = (ev: MouseEvent): void => {
    if (!this.pts.length || this.mode === 'keypoints') return;
    this.pointer = clampPoint(this.toImage(ev.clientX, ev.clientY), this.W, this.H);
    this.renderDraft();
  };

  private startGesture(kind: 'pan' | 'box', ev: MouseEvent): void {
    this.endGesture();
    const [x0, y0] = clampPoint(this.toImage(ev.clientX, ev.clientY), this.W, this.H);
    this.gesture = { kind, sx: ev.clientX, sy: ev.clientY, x0: kind === 'pan' ? this.stage.x() : x0, y0: kind === 'pan' ? this.stage.y() : y0 };
    window.addEventListener('mousemove', this.onDrag);
    window.addEventListener('mouseup', this.onUp);
    this.updateCursor();
    if (kind === 'box') this.cb.draft({ type: 'box', points: 1 });
  }

  private endGesture(): void {
    window.removeEventListener('mousemove', this.onDrag);
    window.removeEventListener('mouseup', this.onUp);
    const was = this.gesture;
    this.gesture = null;
    if (was?.kind === 'box') {
      this.draftRect.visible(false);
      this.draftLayer.batchDraw();
    }
    this.updateCursor();
  }

  private boxOf(ev: MouseEvent): { x: number; y: number; w: number; h: number } {
    const g = this.gesture!;
    const [x1, y1] = clampPoint(this.toImage(ev.clientX, ev.clientY), this.W, this.H);
    return { x: Math.min(g.x0, x1), y: Math.min(g.y0, y1), w: Math.abs(x1 - g.x0), h: Math.abs(y1 - g.y0) };
  }

  private onDrag = (ev: MouseEvent): void => {
    const g = this.gesture;
    if (!g) return;
    if (g.kind === 'pan') {
      this.stage.position({ x: g.x0 + ev.clientX - g.sx, y: g.y0 + ev.clientY - g.sy });
      this.fitted = false;
      this.viewChanged();
      return;
    }
    const b = this.boxOf(ev);
    this.draftRect.setAttrs({ ...b, width: b.w, height: b.h, visible: true, stroke: labelColor(this.labels, this.label) });
    this.draftLayer.batchDraw();
  };

  private onUp = (ev: MouseEvent): void => {
    const g = this.gesture;
    if (!g) return;
    if (g.kind === 'box') {
      const b = this.boxOf(ev);
      const s = this.stage.scaleX();
      this.endGesture();
      this.cb.draft(null);
      if (b.w * s >= MIN_BOX && b.h * s >= MIN_BOX) {
        const box: BoxObject = { type: 'box', label: this.label, x: b.x, y: b.y, w: b.w, h: b.h, rotation: 0 };
        this.emitCreate(clampBox(box, this.W, this.H));
      }
      return;
    }
    this.endGesture();
  };

  /* Insert p after vertex `edge` of object i, and pick the new vertex. */
  private emitInsert(i: number, o: PointsObject, edge: number, p: number[]): void {
    const next = insertVertex(o, edge, clampPoint(p, this.W, this.H));
    this.vertex = edge + 1;
    this.cb.vertex(edge + 1);
    this.cb.update(i, next);
  }

  private emitCreate(o: ImageObject): void {
    if (o.type !== 'box') o = { ...o, points: (o.points ?? []).map((p) => clampPoint(p, this.W, this.H)) };
    this.cb.create(o);
  }

  private kpNames(): string[] {
    return this.labels.find((l) => l.name === this.label)?.keypoints ?? [];
  }

  /* ---- drawing ----------------------------------------------------------- */

  private regroup(): void {
    const byLabel = new Map<string, Group>();
    this.objects.forEach((o, i) => {
      if (i === this.selected) return;
      let g = byLabel.get(o.label);
      if (!g) {
        g = { color: labelColor(this.labels, o.label), areas: [], lines: [], keypoints: [] };
        byLabel.set(o.label, g);
      }
      if (o.type === 'box' || o.type === 'polygon') g.areas.push(i);
      else if (o.type === 'polyline') g.lines.push(i);
      else g.keypoints.push(i);
    });
    this.groups = [...byLabel.values()];
  }

  /*
   * The objects layer: from the bitmap cache when the whole image fits in
   * CACHE_MAX_PX at the current zoom (redrawn when the objects change and a
   * moment after the zoom does: meanwhile the old bitmap is stretched),
   * else drawn directly, only what is in view.
   */
  private paintObjects(c: CanvasRenderingContext2D): void {
    const t0 = performance.now();
    const ratio = this.stage.scaleX() * (window.devicePixelRatio || 1);
    if (ratio > Math.sqrt(CACHE_MAX_PX / (this.W * this.H))) {
      this.drawObjects(c, this.stage.scaleX(), true);
    } else {
      if (!this.cache || this.cacheDirty) this.renderCache(ratio);
      else if (Math.abs(this.cacheScale / ratio - 1) > 1e-3) {
        clearTimeout(this.recacheTimer);
        this.recacheTimer = window.setTimeout(() => {
          this.cacheDirty = true;
          this.objectsLayer.batchDraw();
        }, 150);
      }
      c.drawImage(this.cache!, 0, 0, this.W, this.H);
    }
    this.lastDrawMs = performance.now() - t0;
  }

  private renderCache(scale: number): void {
    const w = Math.max(1, Math.ceil(this.W * scale));
    const h = Math.max(1, Math.ceil(this.H * scale));
    const cv = this.cache ?? document.createElement('canvas');
    if (cv.width !== w || cv.height !== h) {
      cv.width = w;
      cv.height = h;
    }
    const c = cv.getContext('2d')!;
    c.setTransform(1, 0, 0, 1, 0, 0);
    c.clearRect(0, 0, w, h);
    c.setTransform(w / this.W, 0, 0, h / this.H, 0, 0);
    const t0 = performance.now();
    this.drawObjects(c, this.stage.scaleX(), false);
    this.lastCacheMs = performance.now() - t0;
    this.cache = cv;
    this.cacheScale = scale;
    this.cacheDirty = false;
  }

  /* Every object but the selected one; stroke widths in screen px at `s`. */
  private drawObjects(c: CanvasRenderingContext2D, s: number, cull: boolean): void {
    /* the visible part of the image, for culling */
    const vx0 = -this.stage.x() / s;
    const vy0 = -this.stage.y() / s;
    const vx1 = vx0 + this.stage.width() / s;
    const vy1 = vy0 + this.stage.height() / s;
    const bb = this.bboxes;
    const visible = (i: number) => !cull || (bb[i][2] >= vx0 && bb[i][0] <= vx1 && bb[i][3] >= vy0 && bb[i][1] <= vy1);
    const lw = 1.5 / s;
    const r = 3 / s;
    for (const g of this.groups) {
      c.strokeStyle = g.color;
      c.fillStyle = g.color;
      c.lineWidth = lw;
      /* a path per object: one huge path is several times slower to fill and stroke */
      for (const i of g.areas) {
        if (!visible(i)) continue;
        const o = this.objects[i];
        c.beginPath();
        if (o.type === 'box') {
          if (!o.rotation) c.rect(o.x, o.y, o.w, o.h);
          else pathPoints(c, boxCorners(o), true);
        } else if (o.parts) for (const part of o.parts) pathPoints(c, part, true);
        else if (o.points) pathPoints(c, o.points, true);
        c.globalAlpha = 0.15;
        c.fill();
        c.globalAlpha = 1;
        c.stroke();
      }
      if (g.lines.length) {
        c.beginPath();
        for (const i of g.lines) if (visible(i)) pathPoints(c, (this.objects[i] as PointsObject).points ?? [], false);
        c.stroke();
      }
      if (g.keypoints.length) {
        const skel = this.labels.find((l) => l.name === this.objects[g.keypoints[0]].label)?.skeleton ?? [];
        c.beginPath();
        for (const i of g.keypoints) {
          if (!visible(i)) continue;
          const pts = (this.objects[i] as PointsObject).points ?? [];
          for (const [a, b] of skel) {
            const p = pts[a];
            const q = pts[b];
            if (!p || !q || !p[2] || !q[2]) continue;
            c.moveTo(p[0], p[1]);
            c.lineTo(q[0], q[1]);
          }
        }
        c.stroke();
        /* visible points filled, occluded ones (v = 1) as rings */
        for (const v of [2, 1]) {
          c.beginPath();
          for (const i of g.keypoints) {
            if (!visible(i)) continue;
            for (const p of (this.objects[i] as PointsObject).points ?? []) {
              if (p[2] !== v) continue;
              c.moveTo(p[0] + r, p[1]);
              c.arc(p[0], p[1], r, 0, Math.PI * 2);
            }
          }
          if (v === 2) c.fill();
          else c.stroke();
        }
      }
    }
  }

  private renderDraft(): void {
    const color = labelColor(this.labels, this.label);
    const pts = this.pts;
    const s = this.stage.scaleX();
    this.draftDots.destroyChildren();
    if (!pts.length) {
      this.draftLine.visible(false);
    } else if (this.mode === 'keypoints') {
      this.draftLine.visible(false);
      /* the label's skeleton between the points placed so far */
      const skel = this.labels.find((l) => l.name === this.label)?.skeleton ?? [];
      for (const [a, b] of skel) {
        const p = pts[a];
        const q = pts[b];
        if (p?.[2] && q?.[2])
          this.draftDots.add(new Line({ points: [p[0], p[1], q[0], q[1]], stroke: color, strokeWidth: 1.5, strokeScaleEnabled: false }));
      }
      for (const p of pts)
        this.draftDots.add(new Circle({ x: p[0], y: p[1], radius: HANDLE_R / s, fill: p[2] === 2 ? color : '#fff', stroke: color, strokeWidth: 1.5, strokeScaleEnabled: false }));
    } else {
      const flat = pts.flat();
      if (this.pointer) flat.push(this.pointer[0], this.pointer[1]);
      this.draftLine.setAttrs({ points: flat, stroke: color, visible: true, closed: false });
      for (const p of pts)
        this.draftDots.add(new Circle({ x: p[0], y: p[1], radius: HANDLE_R / s, fill: '#fff', stroke: color, strokeWidth: 1.5, strokeScaleEnabled: false }));
    }
    this.draftLayer.batchDraw();
  }

  /* The picked vertex's handle stands out: a dark, thick ring. */
  private styleHandles(root: Konva.Container = this.editLayer): void {
    for (const h of root.find('.handle')) {
      const on = h.getAttr('vertex') === this.vertex;
      (h as Circle).setAttrs({ stroke: on ? '#111' : h.getAttr('color'), strokeWidth: on ? 3 : 1.5 });
      if (on) h.moveToTop();
    }
  }

  /* The selected object as nodes that can be dragged, reshaped, rotated. */
  private renderEdit(): void {
    this.editLayer.destroyChildren();
    const i = this.selected;
    if (i === null) {
      this.editLayer.draw();
      return;
    }
    const o = this.objects[i];
    const color = labelColor(this.labels, o.label);
    const s = this.stage.scaleX();
    const body = this.mode === 'select'; /* in a drawing mode only the handles take the mouse */
    const W = this.W;
    const H = this.H;
    if (o.type === 'box') {
      const rect = new Rect({
        x: o.x + o.w / 2, y: o.y + o.h / 2, width: o.w, height: o.h, offsetX: o.w / 2, offsetY: o.h / 2,
        rotation: o.rotation ?? 0, stroke: color, strokeWidth: 2, strokeScaleEnabled: false,
        fill: hexAlpha(color, 0.25), draggable: body, listening: body, name: 'selected',
      });
      rect.on('dragmove', () => {
        const w = rect.width() * rect.scaleX();
        const h = rect.height() * rect.scaleY();
        rect.position({ x: clamp(rect.x(), w / 2, W - w / 2), y: clamp(rect.y(), h / 2, H - h / 2) });
      });
      const commit = () => {
        const w = rect.width() * Math.abs(rect.scaleX());
        const h = rect.height() * Math.abs(rect.scaleY());
        this.cb.update(i, clampBox({ ...o, x: rect.x() - w / 2, y: rect.y() - h / 2, w, h, rotation: rect.rotation() }, W, H));
      };
      rect.on('dragend', commit);
      rect.on('transformend', commit);
      const tr = new Transformer({
        nodes: [rect], rotateEnabled: true, keepRatio: false, flipEnabled: false, ignoreStroke: true,
        anchorSize: 9, borderStroke: color, anchorStroke: color, rotationSnaps: [0, 90, 180, 270],
        boundBoxFunc: (old, nb) => (Math.abs(nb.width) < MIN_BOX || Math.abs(nb.height) < MIN_BOX ? old : nb),
      });
      this.editLayer.add(rect, tr);
    } else {
      const group = new Konva.Group({ draggable: body });
      const parts = o.type === 'polygon' && o.parts ? o.parts : [o.points ?? []];
      /* the outline of each part; for keypoints, the skeleton's edges */
      const skeleton = o.type === 'keypoints' ? (this.labels.find((l) => l.name === o.label)?.skeleton ?? []) : [];
      const edgesOf = (pts: number[][]) => {
        const flat: number[] = [];
        for (const [a, b] of skeleton) if (pts[a]?.[2] && pts[b]?.[2]) flat.push(pts[a][0], pts[a][1], pts[b][0], pts[b][1]);
        return flat;
      };
      const lines = parts.map((pts) => {
        const line = new Line({
          points: o.type === 'keypoints' ? edgesOf(pts) : pts.flat(),
          closed: o.type === 'polygon', stroke: color, strokeWidth: 2, strokeScaleEnabled: false,
          fill: o.type === 'polygon' ? hexAlpha(color, 0.25) : undefined, hitStrokeWidth: 12,
          listening: body && o.type !== 'keypoints',
        });
        if (o.type === 'keypoints')
          line.sceneFunc((ctx, shape) => {
            const f = (shape as Line).points();
            ctx.beginPath();
            for (let k = 0; k + 3 < f.length; k += 4) {
              ctx.moveTo(f[k], f[k + 1]);
              ctx.lineTo(f[k + 2], f[k + 3]);
            }
            ctx.strokeShape(shape);
          });
        group.add(line);
        return line;
      });
      /* vertex handles (one-part shapes): drag moves, a click picks, a right-click deletes (or cycles a keypoint) */
      if (!(o.type === 'polygon' && o.parts)) {
        const pts = (o.points ?? []).map((p) => p.slice());
        const editable = vertexEditable(o);
        const mids: Circle[] = [];
        const midOf = (k: number) => {
          const a = pts[k];
          const b = pts[(k + 1) % pts.length];
          return { x: (a[0] + b[0]) / 2, y: (a[1] + b[1]) / 2 };
        };
        const redraw = () => {
          lines[0].points(o.type === 'keypoints' ? edgesOf(pts) : pts.flat());
          mids.forEach((m, k) => m.position(midOf(k)));
        };
        /* a handle at each edge's middle: a click inserts a vertex there, a drag inserts and moves it */
        if (editable) {
          const n = pts.length;
          for (let k = 0; k < (o.type === 'polygon' ? n : n - 1); k++) {
            const m = new Circle({
              ...midOf(k), radius: MID_R / s, fill: hexAlpha(color, 0.55), stroke: '#fff', strokeWidth: 1,
              strokeScaleEnabled: false, draggable: true, name: 'mid',
            });
            m.setAttr('edge', k);
            let inserted = false;
            m.on('dragstart', () => {
              pts.splice(k + 1, 0, [m.x(), m.y()]);
              inserted = true;
            });
            m.on('dragmove', () => {
              m.position({ x: clamp(m.x(), 0, W), y: clamp(m.y(), 0, H) });
              pts[k + 1][0] = m.x();
              pts[k + 1][1] = m.y();
              lines[0].points(pts.flat());
            });
            m.on('dragend', (e) => {
              e.cancelBubble = true;
              if (!inserted) return;
              const at = pts.splice(k + 1, 1)[0];
              this.emitInsert(i, o, k, at);
            });
            m.on('click', (e) => {
              if (e.evt.button !== 0 || inserted) return;
              e.cancelBubble = true;
              this.emitInsert(i, o, k, [m.x(), m.y()]);
            });
            mids.push(m);
          }
          group.add(...mids);
        }
        pts.forEach((p, k) => {
          if (o.type === 'keypoints' && !p[2]) return;
          const h = new Circle({
            x: p[0], y: p[1], radius: HANDLE_R / s, fill: o.type === 'keypoints' && p[2] === 2 ? color : '#fff',
            stroke: color, strokeWidth: 1.5, strokeScaleEnabled: false, draggable: true, name: 'handle',
          });
          h.setAttr('vertex', k);
          h.setAttr('color', color);
          h.on('mousedown', (e) => {
            if (e.evt.button === 0) {
              if (this.space || e.evt.altKey) return;
              this.vertex = k;
              this.styleHandles();
              this.cb.vertex(k);
            } else if (e.evt.button === 2) {
              e.evt.preventDefault();
              this.cb.vertexMenu(k);
            }
          });
          h.on('dragmove', () => {
            h.position({ x: clamp(h.x(), 0, W), y: clamp(h.y(), 0, H) });
            p[0] = h.x();
            p[1] = h.y();
            redraw();
          });
          h.on('dragend', (e) => {
            e.cancelBubble = true;
            this.cb.update(i, { ...o, points: pts.map((q) => clampPoint(q, W, H)) });
          });
          group.add(h);
        });
        this.styleHandles(group);
      }
      group.on('dragend', (e) => {
        if ((e.target as unknown) !== group) return;
        const [x0, y0, x1, y1] = this.bboxes[i];
        const dx = clamp(group.x(), -x0, W - x1);
        const dy = clamp(group.y(), -y0, H - y1);
        const move = (p: number[]) => {
          if (o.type === 'keypoints' && !p[2]) return p;
          const q = [round(p[0] + dx), round(p[1] + dy)];
          if (p.length > 2) q.push(p[2]);
          return clampPoint(q, W, H);
        };
        if (o.type === 'polygon' && o.parts) this.cb.update(i, { ...o, parts: o.parts.map((part) => part.map(move)) });
        else this.cb.update(i, { ...o, points: (o.points ?? []).map(move) });
      });
      this.editLayer.add(group);
    }
    /*
     * Drawn now, not at the next frame: Konva finds the node under the mouse
     * in the layer's hit canvas, which a batched draw would leave showing the
     * nodes just destroyed until then (a fast click would miss the handles).
     * Only the selected object is here, so this is cheap.
     */
    this.editLayer.draw();
  }
}

/* ---- helpers -------------------------------------------------------------- */

function pathPoints(c: CanvasRenderingContext2D, pts: number[][], close: boolean): void {
  if (!pts.length) return;
  c.moveTo(pts[0][0], pts[0][1]);
  for (let k = 1; k < pts.length; k++) c.lineTo(pts[k][0], pts[k][1]);
  if (close) c.closePath();
}

/* #rgb / #rrggbb with an alpha, as rgba(); other colours as they are. */
function hexAlpha(color: string, a: number): string {
  let m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(color);
  if (m) m = [m[0], m[1] + m[1], m[2] + m[2], m[3] + m[3]] as unknown as RegExpExecArray;
  else m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return 'rgba(255,255,255,0.2)';
  return `rgba(${parseInt(m[1], 16)},${parseInt(m[2], 16)},${parseInt(m[3], 16)},${a})`;
}
