// Text offsets for the API are Unicode code points (docs/api.md, schema_text.c),
// never UTF-16 units: "😀" is one code point but two UTF-16 units.

/* Number of code points in s. */
export function cpLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    /* a high surrogate followed by a low one is one code point */
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/* Code-point offset of the DOM position (node, offset) inside `container`'s text. */
function offsetIn(container: Node, node: Node, offset: number): number {
  const r = document.createRange();
  r.selectNodeContents(container);
  r.setEnd(node, offset);
  return cpLength(r.toString());
}

/*
 * The current selection as code-point offsets [start, end) of the text shown
 * in `container` (whose text content is exactly the task text), clipped to
 * it; null when nothing of it is selected.
 */
export function selectionOffsets(container: HTMLElement, total: number): { start: number; end: number } | null {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
  const r = sel.getRangeAt(0);
  if (!r.intersectsNode(container)) return null;
  const all = document.createRange();
  all.selectNodeContents(container);
  const start = r.compareBoundaryPoints(Range.START_TO_START, all) <= 0 ? 0 : offsetIn(container, r.startContainer, r.startOffset);
  const end = r.compareBoundaryPoints(Range.END_TO_END, all) >= 0 ? total : offsetIn(container, r.endContainer, r.endOffset);
  return end > start ? { start, end: Math.min(end, total) } : null;
}
