/** The timeline's time axis: a linear scale and "nice" tick steps. */

export interface Scale {
  t0: number;
  t1: number;
  width: number;
}

export function toX(scale: Scale, t: number): number {
  const span = Math.max(1e-3, scale.t1 - scale.t0);
  return ((t - scale.t0) / span) * scale.width;
}

/** A tick step (seconds) of 1, 2 or 5 × 10^n giving about `target` ticks. */
export function tickStep(span: number, target = 8): number {
  const raw = Math.max(span, 1e-3) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

export function ticks(scale: Scale, target = 8): number[] {
  const span = scale.t1 - scale.t0;
  const step = tickStep(span, target);
  const out: number[] = [];
  for (let offset = 0; offset <= span + 1e-9 && out.length < 100; offset += step) out.push(offset);
  return out;
}

export function tickLabel(offset: number, step: number): string {
  if (step >= 60) return `${Math.round(offset / 60)} m`;
  const decimals = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step)));
  return `${offset.toFixed(decimals)} s`;
}
