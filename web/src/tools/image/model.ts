// The image kind's data model (src/schema/schema_image.c): config, task data
// and result types, and the pure geometry the tool needs (clamping to the
// image, hit tests). Coordinates are image pixels, origin top-left.

export type ShapeType = 'box' | 'polygon' | 'polyline' | 'keypoints';
export type Mode = 'select' | ShapeType;

export interface LabelConfig {
  name: string;
  color?: string;
  hotkey?: string;
  keypoints?: string[];
  skeleton?: Array<[number, number]>;
}

export interface ImageConfig {
  tools?: ShapeType[];
  labels?: LabelConfig[];
  classes?: { choices: string[]; multiple?: boolean };
}

export interface BoxObject {
  id?: string;
  type: 'box';
  label: string;
  x: number;
  y: number;
  w: number;
  h: number;
  rotation?: number;
  attrs?: unknown;
}

export interface PointsObject {
  id?: string;
  type: 'polygon' | 'polyline' | 'keypoints';
  label: string;
  points?: number[][];
  parts?: number[][][]; /* polygons seen in several pieces (imported) */
  attrs?: unknown;
}

export type ImageObject = BoxObject | PointsObject;

export interface ImageResult {
  classes?: string[];
  objects: ImageObject[];
  [key: string]: unknown;
}

const PALETTE = ['#e53935', '#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#00897b', '#d81b60', '#6d4c41'];

export function labelColor(labels: LabelConfig[], name: string): string {
  const i = labels.findIndex((l) => l.name === name);
  if (i < 0) return '#888';
  return labels[i].color || PALETTE[i % PALETTE.length];
}

/* The key that picks label i: its own hotkey, else 1–9 by position. */
export function labelHotkey(labels: LabelConfig[], i: number): string | undefined {
  if (labels[i].hotkey) return labels[i].hotkey;
  const taken = new Set(labels.map((l) => l.hotkey).filter(Boolean));
  const k = i < 9 ? String(i + 1) : undefined;
  return k && !taken.has(k) ? k : undefined;
}

export function emptyImageResult(config: ImageConfig): ImageResult {
  const r: ImageResult = { objects: [] };
  if (config.classes) r.classes = [];
  return r;
}

export function nextObjectId(objects: ImageObject[]): string {
  const ids = new Set(objects.map((o) => o.id));
  let n = objects.length + 1;
  while (ids.has(`o${n}`)) n++;
  return `o${n}`;
}

export const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/* Rounded to 1/100 px: enough for any screen, keeps the JSON short. */
export const round = (v: number) => Math.round(v * 100) / 100;

export function clampPoint(p: number[], W: number, H: number): number[] {
  const out = [round(clamp(p[0], 0, W)), round(clamp(p[1], 0, H))];
  if (p.length > 2) out.push(p[2]);
  return out;
}

/* A box made to fit the image (bounds apply to the unrotated box). */
export function clampBox(b: BoxObject, W: number, H: number): BoxObject {
  const w = clamp(b.w, 1e-2, W);
  const h = clamp(b.h, 1e-2, H);
  const x = clamp(b.x, 0, W - w);
  const y = clamp(b.y, 0, H - h);
  let rotation = b.rotation ?? 0;
  rotation = ((((rotation + 180) % 360) + 360) % 360) - 180; /* (-180, 180] */
  if (rotation === -180) rotation = 180;
  const rw = round(w);
  const rh = round(h);
  return { ...b, x: round(Math.min(x, W - rw)), y: round(Math.min(y, H - rh)), w: rw, h: rh, rotation: round(rotation) };
}

/* The corners of a box, rotated about its centre (clockwise degrees). */
export function boxCorners(b: BoxObject): number[][] {
  const cx = b.x + b.w / 2;
  const cy = b.y + b.h / 2;
  const a = ((b.rotation ?? 0) * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  return [
    [-b.w / 2, -b.h / 2],
    [b.w / 2, -b.h / 2],
    [b.w / 2, b.h / 2],
    [-b.w / 2, b.h / 2],
  ].map(([dx, dy]) => [cx + dx * cos - dy * sin, cy + dx * sin + dy * cos]);
}

function inPolygon(x: number, y: number, pts: number[][]): boolean {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function segmentDistance(x: number, y: number, a: number[], b: number[]): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = dx * dx + dy * dy;
  const t = len ? clamp(((x - a[0]) * dx + (y - a[1]) * dy) / len, 0, 1) : 0;
  return Math.hypot(x - (a[0] + t * dx), y - (a[1] + t * dy));
}

/* Whether (x, y) touches the object; tol is the slack in image pixels. */
export function hits(o: ImageObject, x: number, y: number, tol: number): boolean {
  if (o.type === 'box') return inPolygon(x, y, boxCorners(o));
  if (o.type === 'polygon') {
    const parts = o.parts ?? (o.points ? [o.points] : []);
    return parts.some((p) => inPolygon(x, y, p));
  }
  const pts = o.points ?? [];
  if (o.type === 'polyline') {
    for (let i = 0; i + 1 < pts.length; i++) if (segmentDistance(x, y, pts[i], pts[i + 1]) <= tol) return true;
    return false;
  }
  return pts.some((p) => p[2] !== 0 && Math.hypot(x - p[0], y - p[1]) <= tol);
}

/* The topmost object (drawn last) at (x, y), or -1. */
export function objectAt(objects: ImageObject[], x: number, y: number, tol: number): number {
  /* lines and points first: they have no area to click inside */
  for (let i = objects.length - 1; i >= 0; i--) {
    const o = objects[i];
    if ((o.type === 'polyline' || o.type === 'keypoints') && hits(o, x, y, tol)) return i;
  }
  for (let i = objects.length - 1; i >= 0; i--) {
    const o = objects[i];
    if ((o.type === 'box' || o.type === 'polygon') && hits(o, x, y, tol)) return i;
  }
  return -1;
}

/* The media id or URL of a task's image, as a URL this page may load. */
export function imageUrl(image: unknown): string | null {
  if (typeof image !== 'string') return null;
  if (/^[0-9a-f]{64}$/.test(image)) return `/api/v1/media/${image}`;
  if (/^https?:\/\/\S+$/.test(image)) return image;
  return null;
}

/* ---- vertex editing (the selected one-part polygon or polyline) ---------- */

/* The fewest vertices a shape may keep (schema_image.c). */
export function minVertices(o: ImageObject): number {
  return o.type === 'polygon' ? 3 : o.type === 'polyline' ? 2 : 0;
}

/* Whether the object's vertices can be inserted and deleted one by one. */
export function vertexEditable(o: ImageObject | undefined): o is PointsObject {
  return !!o && (o.type === 'polygon' || o.type === 'polyline') && !o.parts && Array.isArray(o.points);
}

/* The object with `p` inserted after vertex `edge` (edge k runs from vertex k to k+1, wrapping for a polygon). */
export function insertVertex(o: PointsObject, edge: number, p: number[]): PointsObject {
  const pts = (o.points ?? []).slice();
  pts.splice(edge + 1, 0, [round(p[0]), round(p[1])]);
  return { ...o, points: pts };
}

/* The object without vertex k, or null when it has only the minimum left. */
export function deleteVertex(o: PointsObject, k: number): PointsObject | null {
  const pts = o.points ?? [];
  if (k < 0 || k >= pts.length || pts.length <= minVertices(o)) return null;
  return { ...o, points: pts.filter((_, j) => j !== k) };
}

/* The edge of `pts` nearest (x, y) within tol, with the point on it, or null. */
export function nearestEdge(pts: number[][], closed: boolean, x: number, y: number, tol: number): { edge: number; point: number[] } | null {
  let best: { edge: number; point: number[] } | null = null;
  let bestD = tol;
  const n = pts.length;
  for (let k = 0; k < (closed ? n : n - 1); k++) {
    const a = pts[k];
    const b = pts[(k + 1) % n];
    const d = segmentDistance(x, y, a, b);
    if (d <= bestD) {
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const len = dx * dx + dy * dy;
      const t = len ? clamp(((x - a[0]) * dx + (y - a[1]) * dy) / len, 0, 1) : 0;
      bestD = d;
      best = { edge: k, point: [a[0] + t * dx, a[1] + t * dy] };
    }
  }
  return best;
}

/* ---- keypoint visibility (COCO's v: 2 visible, 1 labelled but hidden, 0 not labelled) ---- */

export type Visibility = 0 | 1 | 2;

/* The next state of V's cycle: visible → occluded → absent → visible. */
export function nextVisibility(v: number): Visibility {
  return v === 2 ? 1 : v === 1 ? 0 : 2;
}

/*
 * Keypoints `o` with point k at visibility v. An absent point is stored as
 * [0, 0, 0] (as an unplaced one is); one that comes back goes to `at`.
 */
export function setVisibility(o: PointsObject, k: number, v: Visibility, at: number[]): PointsObject {
  const pts = (o.points ?? []).map((p) => p.slice());
  const p = pts[k];
  if (!p) return o;
  if (v === 0) pts[k] = [0, 0, 0];
  else pts[k] = p[2] ? [p[0], p[1], v] : [round(at[0]), round(at[1]), v];
  return { ...o, points: pts };
}

/* Where an absent keypoint comes back: the middle of the object's labelled points, else of the image. */
export function keypointHome(o: PointsObject, W: number, H: number): number[] {
  const on = (o.points ?? []).filter((p) => p[2]);
  if (!on.length) return [W / 2, H / 2];
  return [on.reduce((s, p) => s + p[0], 0) / on.length, on.reduce((s, p) => s + p[1], 0) / on.length];
}
