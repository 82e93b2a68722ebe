// The text selection or caret in the scene text as code-point offsets
// (never UTF-16 units: "😀" is one code point and two units).

function cpCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function offsetIn(container: Node, node: Node, offset: number): number {
  const r = document.createRange();
  r.selectNodeContents(container);
  r.setEnd(node, offset);
  return cpCount(r.toString());
}

/*
 * The selection [start, end) inside `container` (whose text content is the
 * scene text), clipped to it; start == end for a caret; null when the
 * selection is elsewhere.
 */
export function textSelection(container: HTMLElement, total: number): { start: number; end: number } | null {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0) return null;
  const r = sel.getRangeAt(0);
  if (!container.contains(r.startContainer) && !container.contains(r.endContainer)) {
    if (r.collapsed || !r.intersectsNode(container)) return null;
  }
  const all = document.createRange();
  all.selectNodeContents(container);
  const start = r.compareBoundaryPoints(Range.START_TO_START, all) <= 0 ? 0 : offsetIn(container, r.startContainer, r.startOffset);
  const end = r.compareBoundaryPoints(Range.END_TO_END, all) >= 0 ? total : offsetIn(container, r.endContainer, r.endOffset);
  return { start: Math.min(start, total), end: Math.max(Math.min(end, total), Math.min(start, total)) };
}
