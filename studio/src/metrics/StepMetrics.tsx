/**
 * The step panel's metrics: for the step's latest execution that recorded any (or
 * the attempt chosen), a figure per chart (`chartsOf`: a group, or a metric without
 * one) with its progress bars, a legend of latest values, the chart and its data.
 * The execution's points are paged in when the panel opens, ahead of other charts.
 */

import { useEffect, useId, useState } from "preact/hooks";
import { formatCount } from "../model/format";
import { axisIndex, chartsOf, type MetricChart, metricExecution, progressOf, unitsOf } from "../model/metrics";
import type { Step } from "../model/run";
import type { MetricsSource } from "../live/metrics";
import { Chart, seriesClass } from "./Chart";
import { DataTable } from "./DataTable";
import { ProgressBar } from "./ProgressBar";
import { formatValue, withUnits } from "./scale";

interface Props {
  source: MetricsSource;
  step: Step;
}

export function StepMetrics({ source, step }: Props) {
  const book = source.book;
  const attempts = step.executions.filter((e) => book.byExecution.has(e.id));
  const [chosen, setChosen] = useState<string | null>(null);
  const executionId = (chosen && attempts.some((e) => e.id === chosen) ? chosen : null) ?? metricExecution(book, attempts.map((e) => e.id));
  useEffect(() => {
    if (executionId) source.wantPoints(executionId, true);
  }, [source, executionId]);
  if (!executionId) return null;
  const charts = chartsOf(book.byExecution.get(executionId) ?? []);
  const loaded = book.loaded.has(executionId);
  return (
    <section class="step-section" aria-labelledby="step-metrics-title" data-testid="step-metrics">
      <div class="row">
        <h3 id="step-metrics-title">Metrics</h3>
        <span class="spacer" />
        {attempts.length > 1 && (
          <select aria-label="Metrics of attempt" value={executionId} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
            {attempts.map((e) => (
              <option key={e.id} value={e.id}>
                attempt {e.attempt}
              </option>
            ))}
          </select>
        )}
      </div>
      {charts.map((chart) => (
        <MetricFigure key={chart.id} chart={chart} label={`${chart.title}, ${step.target} #${step.number}`} loaded={loaded} />
      ))}
    </section>
  );
}

function MetricFigure({ chart, label, loaded }: { chart: MetricChart; label: string; loaded: boolean }) {
  const titleId = useId();
  const points = chart.series.reduce((n, s) => n + s.xs.length, 0);
  const several = chart.axes.length > 1;
  return (
    // A metric without a group names itself (in its legend or bar): only a group has a caption.
    <figure class="metric-figure" data-chart={chart.title} {...(chart.group ? { "aria-labelledby": titleId } : { "aria-label": chart.title })}>
      {chart.group && (
        <figcaption class="metric-figure-head">
          <span id={titleId} class="metric-title">
            {chart.title}
          </span>
          {chart.group.units && <span class="faint">by {chart.group.units}</span>}
        </figcaption>
      )}
      {chart.progress.map((s) => {
        const progress = progressOf(s);
        return progress && <ProgressBar key={s.key} progress={progress} label={s.key} />;
      })}
      {chart.series.length > 0 && (
        <>
          <ul class="metric-legend" aria-label={`Metrics of ${chart.title}`}>
            {chart.series.map((s, i) => {
              const axis = axisIndex(chart, s);
              return (
                <li key={s.key} class={seriesClass(i)} data-metric={s.key}>
                  <span class="metric-swatch" aria-hidden="true" />
                  <span class="mono">{s.key}</span>
                  <span class="metric-latest">{s.latest ? withUnits(formatValue(s.latest.value), unitsOf(chart, s)) : "–"}</span>
                  <span class="faint">
                    {formatCount(s.count)} {s.count === 1 ? "point" : "points"}
                    {several && axis === 1 ? " · right axis" : several && axis > 1 ? " · own scale" : ""}
                  </span>
                </li>
              );
            })}
          </ul>
          {points === 0 ? (
            <p class="faint metric-empty" role="status">
              {loaded ? "No points yet." : "Loading points…"}
            </p>
          ) : (
            <Chart chart={chart} label={label} />
          )}
          {points > 0 && <DataTable chart={chart} unitsOf={(s) => unitsOf(chart, s)} />}
        </>
      )}
    </figure>
  );
}
