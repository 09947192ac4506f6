/**
 * A chart's values as a table, a row per x and a column per metric: what the chart
 * shows, readable by screen readers and copyable. Built only while open, and holding
 * the last `ROWS` rows of a long series.
 */

import { useState } from "preact/hooks";
import { formatCount } from "../model/format";
import type { MetricChart, MetricSeries } from "../model/metrics";
import { formatValue, nearestIndex } from "./scale";

const ROWS = 500;

/** Every x of the chart's metrics, in order, once. */
export function chartXs(series: MetricSeries[]): number[] {
  const all = series.length === 1 ? [...(series[0] as MetricSeries).xs] : series.flatMap((s) => s.xs).sort((a, b) => a - b);
  return all.filter((x, i) => i === 0 || x !== all[i - 1]);
}

export function DataTable({ chart, unitsOf }: { chart: MetricChart; unitsOf(series: MetricSeries): string | null }) {
  const [open, setOpen] = useState(false);
  const xs = open ? chartXs(chart.series) : [];
  const rows = xs.length > ROWS ? xs.slice(xs.length - ROWS) : xs;
  return (
    <details class="metric-data" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>Data</summary>
      {open && (
        <>
          {xs.length > rows.length && (
            <p class="faint">
              The last {formatCount(rows.length)} of {formatCount(xs.length)} rows.
            </p>
          )}
          <table class="data metric-table" aria-label={`Values of ${chart.title}`}>
            <thead>
              <tr>
                <th scope="col">{chart.group?.units || "x"}</th>
                {chart.series.map((s) => (
                  <th key={s.key} scope="col">
                    {s.key}
                    {unitsOf(s) ? <span class="faint"> ({unitsOf(s)})</span> : null}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((x) => (
                <tr key={x}>
                  <th scope="row">{formatValue(x)}</th>
                  {chart.series.map((s) => {
                    const k = nearestIndex(s.xs, x);
                    return <td key={s.key}>{k >= 0 && s.xs[k] === x ? formatValue(s.ys[k] as number) : "–"}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </details>
  );
}
