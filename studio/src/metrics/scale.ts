/**
 * The arithmetic of metric charts: an axis's range (its definition's bounds where
 * given, else the data's, widened to round steps), its ticks and their labels, the
 * mapping to pixels, and thinning a long series to what a chart's width can show.
 */

export interface Domain {
  lo: number;
  hi: number;
}

/** A tick step of 1, 2 or 5 × 10^n giving about `target` ticks over `span`. */
export function niceStep(span: number, target = 4): number {
  const raw = Math.max(Math.abs(span), 1e-12) / Math.max(1, target);
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5]) if (m * power >= raw * (1 - 1e-9)) return m * power;
  return 10 * power;
}

/** Rid a multiple of a step of floating-point dust (0.30000000000000004 -> 0.3). */
function clean(value: number): number {
  return Number(value.toPrecision(12));
}

/**
 * The range an axis shows. `lower` and `upper` (the definition's bounds) are kept as
 * given; an end taken from the data (`min`, `max`) is rounded out to a tick. The
 * range is never empty: one value, or none, gets room round it.
 */
export function axisDomain(min: number | null, max: number | null, lower: number | null, upper: number | null, target = 4): Domain {
  let lo = lower ?? min;
  let hi = upper ?? max;
  if (lo === null && hi === null) return { lo: 0, hi: 1 };
  if (lo === null) lo = (hi as number) - 1;
  if (hi === null) hi = lo + 1;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    if (lower === null || upper !== null) lo -= pad;
    if (upper === null || lower !== null) hi += pad;
  }
  const step = niceStep(hi - lo, target);
  if (lower === null) lo = clean(Math.floor(lo / step + 1e-9) * step);
  if (upper === null) hi = clean(Math.ceil(hi / step - 1e-9) * step);
  return { lo, hi };
}

/** The ticks inside a range, at a round step. */
export function axisTicks(domain: Domain, target = 4): { step: number; ticks: number[] } {
  const step = niceStep(domain.hi - domain.lo, target);
  const ticks: number[] = [];
  for (let k = Math.ceil(domain.lo / step - 1e-9); k * step <= domain.hi + step * 1e-9 && ticks.length < 50; k++) {
    ticks.push(clean(k * step));
  }
  return { step, ticks };
}

/** `value` on `domain` mapped to pixels from `from` to `to` (either way round). */
export function toPixel(domain: Domain, from: number, to: number, value: number): number {
  const span = domain.hi - domain.lo || 1;
  return from + ((value - domain.lo) / span) * (to - from);
}

const compact = new Intl.NumberFormat("en-GB", { notation: "compact", maximumFractionDigits: 1 });

/** A tick's label: as many decimals as its step needs; large numbers compact ("250k"). */
export function formatTick(value: number, step: number): string {
  if (Math.abs(value) >= 100_000) return compact.format(value);
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toLocaleString("en-GB", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

const significant = new Intl.NumberFormat("en-GB", { maximumSignificantDigits: 4 });

/** A metric's value for people: integers whole, others to 4 significant digits. */
export function formatValue(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString("en-GB");
  const size = Math.abs(value);
  if (size !== 0 && (size < 1e-3 || size >= 1e15)) return value.toExponential(3);
  return significant.format(value);
}

/** The smallest and largest of some sorted `xs` (each array increasing), or null when all are empty. */
export function extentOfSorted(lists: number[][]): [number, number] | null {
  let min = Infinity;
  let max = -Infinity;
  for (const xs of lists) {
    if (xs.length === 0) continue;
    min = Math.min(min, xs[0] as number);
    max = Math.max(max, xs[xs.length - 1] as number);
  }
  return min <= max ? [min, max] : null;
}

/** The smallest and largest of some values, or null when there are none. */
export function extentOf(lists: number[][]): [number, number] | null {
  let min = Infinity;
  let max = -Infinity;
  for (const ys of lists) {
    for (const y of ys) {
      if (y < min) min = y;
      if (y > max) max = y;
    }
  }
  return min <= max ? [min, max] : null;
}

/**
 * The indices of the points worth drawing when a series has more than a chart's
 * `buckets` (pixel columns) can show: per column its first, lowest, highest and last
 * point, so the line keeps its shape and its spikes. Short series are kept whole.
 */
export function thin(xs: number[], ys: number[], domain: Domain, buckets: number): number[] {
  const n = xs.length;
  const all = () => Array.from({ length: n }, (_, i) => i);
  if (n <= buckets * 4) return all();
  const span = domain.hi - domain.lo || 1;
  const out: number[] = [];
  let bucket = -1;
  let first = 0;
  let low = 0;
  let high = 0;
  let last = 0;
  const flush = () => {
    if (bucket < 0) return;
    for (const i of [first, low, high, last].sort((a, b) => a - b)) if (out[out.length - 1] !== i) out.push(i);
  };
  for (let i = 0; i < n; i++) {
    const b = Math.floor(((xs[i] as number) - domain.lo) / span * buckets);
    if (b !== bucket) {
      flush();
      bucket = b;
      first = low = high = last = i;
      continue;
    }
    last = i;
    if ((ys[i] as number) < (ys[low] as number)) low = i;
    if ((ys[i] as number) > (ys[high] as number)) high = i;
  }
  flush();
  return out;
}

/** An SVG path through the points, in order. */
export function linePath(points: Array<[number, number]>): string {
  let d = "";
  for (const [x, y] of points) d += `${d ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
  return d;
}

/** The index of the point of sorted `xs` nearest `x` (-1 when there are none). */
export function nearestIndex(xs: number[], x: number): number {
  const n = xs.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && x - (xs[lo - 1] as number) <= (xs[lo] as number) - x) return lo - 1;
  return lo;
}

/** Of some sorted `xs`, the x nearest `x`, or null when all are empty. */
export function nearestX(lists: number[][], x: number): number | null {
  let best: number | null = null;
  for (const xs of lists) {
    const i = nearestIndex(xs, x);
    if (i < 0) continue;
    const candidate = xs[i] as number;
    if (best === null || Math.abs(candidate - x) < Math.abs(best - x)) best = candidate;
  }
  return best;
}

/** Of some sorted `xs`, the next x after `x` (`direction` 1) or before it (-1), or null. */
export function neighbourX(lists: number[][], x: number, direction: 1 | -1): number | null {
  let best: number | null = null;
  for (const xs of lists) {
    // The first index past x (or the last before it), by binary search.
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (direction === 1 ? (xs[mid] as number) <= x : (xs[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    const candidate = direction === 1 ? xs[lo] : xs[lo - 1];
    if (candidate === undefined) continue;
    if (best === null || (direction === 1 ? candidate < best : candidate > best)) best = candidate;
  }
  return best;
}

/** A value with its units: "60%", "0.25 nats", or the value alone. */
export function withUnits(text: string, units: string | null | undefined): string {
  if (!units) return text;
  return units === "%" ? `${text}%` : `${text} ${units}`;
}

/**
 * Where a chart's reading cursor goes on a key: → and ← to the next and previous x
 * (from nothing, the first or the last), Home and End to the ends, Escape off the
 * chart (null). Undefined: the key is not the chart's.
 */
export function cursorAfterKey(key: string, cursor: number | null, lists: number[][]): number | null | undefined {
  const ends = extentOfSorted(lists);
  if (!ends) return undefined;
  switch (key) {
    case "ArrowRight":
      return cursor === null ? ends[0] : (neighbourX(lists, cursor, 1) ?? cursor);
    case "ArrowLeft":
      return cursor === null ? ends[1] : (neighbourX(lists, cursor, -1) ?? cursor);
    case "Home":
      return ends[0];
    case "End":
      return ends[1];
    case "Escape":
      return cursor === null ? undefined : null;
    default:
      return undefined;
  }
}
