/**
 * A metric chart, drawn in SVG: a group's metrics along its x-axis (the group's
 * units and bounds), one y-axis per scale (the first on the left, the second on the
 * right; a third or more scale their lines without tick labels), a line per metric
 * with its points marked while it has few. Hovering, or the arrow keys once it has
 * focus, reads out the values nearest an x; "Data" opens a table of every value (for
 * screen readers and copying). `compact`: a small chart without axes, readout or
 * table, for the run page.
 */

import { useId, useState } from "preact/hooks";
import { useWidth } from "../components/useWidth";
import type { MetricChart, MetricSeries } from "../model/metrics";
import {
  axisDomain,
  axisTicks,
  cursorAfterKey,
  type Domain,
  extentOf,
  extentOfSorted,
  formatTick,
  formatValue,
  linePath,
  nearestIndex,
  nearestX,
  thin,
  toPixel,
  withUnits,
} from "./scale";

interface Props {
  chart: MetricChart;
  /** Names the chart for assistive technology, e.g. "training, train #2". */
  label: string;
  compact?: boolean;
}

const FULL = { height: 176, top: 18, bottom: 24, left: 48, right: 14, rightAxis: 48 };
const SMALL = { height: 56, top: 5, bottom: 5, left: 4, right: 6, rightAxis: 6 };
/** About one x tick per this many pixels; this many y ticks. */
const X_TICK_PX = 80;
const Y_TICKS = 4;
/** A line's points are marked while it has at most this many. */
const MARKERS = 60;
/** Series colours (`--series-N` in base.css). */
const PALETTE = 6;

export function seriesClass(index: number): string {
  return `series-${(index % PALETTE) + 1}`;
}

interface Axis {
  domain: Domain;
  units: string | null;
}

export function Chart({ chart, label, compact = false }: Props) {
  const [ref, width] = useWidth<HTMLDivElement>(compact ? 220 : 400);
  const [cursor, setCursor] = useState<number | null>(null);
  const clipId = useId();
  const box = compact ? SMALL : FULL;
  const left = box.left;
  const right = Math.max(left + 20, width - (chart.axes.length > 1 ? box.rightAxis : box.right));
  const top = box.top;
  const bottom = box.height - box.bottom;
  const series = chart.series;
  const xLists = series.map((s) => s.xs);

  const xExtent = extentOfSorted(xLists);
  const xDomain = axisDomain(xExtent?.[0] ?? null, xExtent?.[1] ?? null, chart.group?.lower ?? null, chart.group?.upper ?? null, xTicksFor(right - left));
  const yTarget = compact ? 2 : Y_TICKS;
  const axes: Axis[] = chart.axes.map((axis) => {
    const extent = extentOf(axis.series.map((s) => s.ys));
    return { domain: axisDomain(extent?.[0] ?? null, extent?.[1] ?? null, axis.lower, axis.upper, yTarget), units: axis.units };
  });
  const axisOf = new Map<MetricSeries, Axis>();
  chart.axes.forEach((axis, i) => axis.series.forEach((s) => axisOf.set(s, axes[i] as Axis)));
  const px = (x: number) => toPixel(xDomain, left, right, x);
  const py = (s: MetricSeries, y: number) => toPixel((axisOf.get(s) as Axis).domain, bottom, top, y);
  const total = series.reduce((n, s) => n + s.xs.length, 0);

  const moveCursor = (event: KeyboardEvent) => {
    const next = cursorAfterKey(event.key, cursor, xLists);
    if (next === undefined) return;
    event.preventDefault();
    event.stopPropagation();
    setCursor(next);
  };
  const pointAt = (event: PointerEvent) => {
    const rect = (event.currentTarget as SVGSVGElement).getBoundingClientRect();
    const x = xDomain.lo + ((event.clientX - rect.left - left) / (right - left)) * (xDomain.hi - xDomain.lo);
    setCursor(nearestX(xLists, x));
  };

  const summary = `${label}: ${series.map((s) => `${s.key} ${s.latest ? withUnits(formatValue(s.latest.value), axisOf.get(s)?.units) : "no points"}`).join(", ")}`;

  return (
    <div class={`metric-chart${compact ? " compact" : ""}`} ref={ref}>
      <svg
        class="metric-svg"
        width={width}
        height={box.height}
        role="img"
        aria-label={compact ? summary : `${summary}. Arrow keys read the values at each point.`}
        tabindex={compact ? undefined : 0}
        data-points={total}
        onKeyDown={compact ? undefined : moveCursor}
        onPointerMove={compact ? undefined : pointAt}
        onPointerLeave={compact ? undefined : () => setCursor(null)}
        onBlur={compact ? undefined : () => setCursor(null)}
      >
        <defs>
          <clipPath id={clipId}>
            <rect x={left - 3} y={top - 3} width={right - left + 6} height={bottom - top + 6} />
          </clipPath>
        </defs>
        <rect class="metric-plot" x={left} y={top} width={right - left} height={bottom - top} />
        {!compact && <AxisLabels frame={{ left, right, top, bottom, width }} xDomain={xDomain} axes={axes} />}
        <g clip-path={`url(#${clipId})`}>
          {series.map((s, i) => {
            const kept = thin(s.xs, s.ys, xDomain, Math.ceil(right - left));
            const points = kept.map((k): [number, number] => [px(s.xs[k] as number), py(s, s.ys[k] as number)]);
            const marked = compact ? points.slice(-1) : s.xs.length <= MARKERS ? points : [];
            return (
              <g key={s.key} class={`metric-line ${seriesClass(i)}`} data-metric={s.key} data-points={s.xs.length}>
                <path d={linePath(points)} />
                {marked.map(([x, y], k) => (
                  <circle key={k} class="metric-point" cx={x} cy={y} r={compact ? 2.5 : 2.75} />
                ))}
              </g>
            );
          })}
        </g>
        {cursor !== null && (
          <g class="metric-cursor" aria-hidden="true">
            <line x1={px(cursor)} x2={px(cursor)} y1={top} y2={bottom} />
            {series.map((s, i) => {
              const k = nearestIndex(s.xs, cursor);
              return k < 0 ? null : <circle key={s.key} class={seriesClass(i)} cx={px(s.xs[k] as number)} cy={py(s, s.ys[k] as number)} r={4} />;
            })}
          </g>
        )}
      </svg>
      {!compact && <Readout chart={chart} cursor={cursor} units={(s) => axisOf.get(s)?.units ?? null} />}
    </div>
  );
}

function xTicksFor(pixels: number): number {
  return Math.max(2, Math.floor(pixels / X_TICK_PX));
}

interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
}

/** Grid lines and tick labels: the first axis on the left, the second on the right, units above them. */
function AxisLabels({ frame, xDomain, axes }: { frame: Frame; xDomain: Domain; axes: Axis[] }) {
  const { left, right, top, bottom, width } = frame;
  const xTicks = axisTicks(xDomain, xTicksFor(right - left));
  const [first, second] = axes;
  const y = (axis: Axis, t: number) => toPixel(axis.domain, bottom, top, t);
  const firstTicks = first && axisTicks(first.domain, Y_TICKS);
  const secondTicks = second && axisTicks(second.domain, Y_TICKS);
  return (
    <g class="metric-axes" aria-hidden="true">
      {first &&
        firstTicks?.ticks.map((t) => (
          <g key={`y${t}`}>
            <line class="metric-grid" x1={left} x2={right} y1={y(first, t)} y2={y(first, t)} />
            <text class="metric-tick" x={left - 6} y={y(first, t) + 4} text-anchor="end">
              {formatTick(t, firstTicks.step)}
            </text>
          </g>
        ))}
      {second &&
        secondTicks?.ticks.map((t) => (
          <text key={`r${t}`} class="metric-tick" x={right + 6} y={y(second, t) + 4}>
            {formatTick(t, secondTicks.step)}
          </text>
        ))}
      {first?.units && (
        <text class="metric-units" x={2} y={10}>
          {first.units}
        </text>
      )}
      {second?.units && (
        <text class="metric-units" x={width - 2} y={10} text-anchor="end">
          {second.units}
        </text>
      )}
      {xTicks.ticks.map((t) => (
        <text key={`x${t}`} class="metric-tick" x={toPixel(xDomain, left, right, t)} y={bottom + 16} text-anchor="middle">
          {formatTick(t, xTicks.step)}
        </text>
      ))}
    </g>
  );
}

/** The values at the cursor's x ("epoch 3 · loss 0.25, accuracy 60%"), announced as it moves. */
function Readout({ chart, cursor, units }: { chart: MetricChart; cursor: number | null; units(s: MetricSeries): string | null }) {
  let text = "\u00a0";
  if (cursor !== null) {
    const where = `${chart.group?.units || "x"} ${formatValue(cursor)}`;
    const values = chart.series.flatMap((s) => {
      const k = nearestIndex(s.xs, cursor);
      return k >= 0 && s.xs[k] === cursor ? [`${s.key} ${withUnits(formatValue(s.ys[k] as number), units(s))}`] : [];
    });
    text = `${where} · ${values.join(", ")}`;
  }
  return (
    <p class="metric-readout" aria-live="polite">
      {text}
    </p>
  );
}
