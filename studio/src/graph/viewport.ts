/** Pan and zoom of the graph: a transform, fitting, zooming about a point. */

import type { Rect } from "./layout";

export interface Transform {
  x: number;
  y: number;
  k: number;
}

export const MIN_SCALE = 0.2;
export const MAX_SCALE = 2;
const PAD = 24;

export function clampScale(k: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, k));
}

/** Fit content of `width` x `height` into a `viewW` x `viewH` box, never above 1:1
 * nor below `minK`; content taller than the view starts at the top. */
export function fit(width: number, height: number, viewW: number, viewH: number, minK = 0.45): Transform {
  if (width <= 0 || height <= 0 || viewW <= 0 || viewH <= 0) return { x: PAD, y: PAD, k: 1 };
  const k = Math.max(minK, Math.min(1, (viewW - 2 * PAD) / width, (viewH - 2 * PAD) / height));
  const x = width * k + 2 * PAD <= viewW ? (viewW - width * k) / 2 : PAD;
  const y = height * k + 2 * PAD <= viewH ? (viewH - height * k) / 2 : PAD;
  return { x, y, k };
}

/** Zoom by `factor` keeping the point (px, py) of the view where it is. */
export function zoomAt(t: Transform, factor: number, px: number, py: number): Transform {
  const k = clampScale(t.k * factor);
  const ratio = k / t.k;
  return { k, x: px - (px - t.x) * ratio, y: py - (py - t.y) * ratio };
}

/** The part of the graph (graph coordinates) visible through the view, with a margin. */
export function visibleRect(t: Transform, viewW: number, viewH: number, margin = 200): Rect {
  return {
    x: -t.x / t.k - margin,
    y: -t.y / t.k - margin,
    width: viewW / t.k + 2 * margin,
    height: viewH / t.k + 2 * margin,
  };
}

/** The smallest pan that brings the box (graph coordinates) into view. */
export function reveal(t: Transform, box: Rect, viewW: number, viewH: number): Transform {
  const left = box.x * t.k + t.x;
  const top = box.y * t.k + t.y;
  const right = left + box.width * t.k;
  const bottom = top + box.height * t.k;
  let { x, y } = t;
  if (left < PAD) x += PAD - left;
  else if (right > viewW - PAD) x -= right - (viewW - PAD);
  if (top < PAD) y += PAD - top;
  else if (bottom > viewH - PAD) y -= bottom - (viewH - PAD);
  return { ...t, x, y };
}
