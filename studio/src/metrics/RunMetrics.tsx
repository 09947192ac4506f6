/**
 * The run page's metrics: a band above the graph (timeline, logs) with a card per
 * chart of each step's metrics (its latest execution that recorded any), in step
 * order: the step, progress bars, a small chart and the latest values. A card links
 * to its step, whose panel has the full chart. Shown only when the run has metrics;
 * the band can be folded away (remembered in this browser), and then pages in nothing.
 */

import { useEffect, useMemo, useState } from "preact/hooks";
import { Link } from "../components/Link";
import { formatCount } from "../model/format";
import { chartsOf, type MetricChart, metricExecution, progressOf, unitsOf } from "../model/metrics";
import { stepIdOf } from "../model/ids";
import type { RunModel, Step } from "../model/run";
import type { MetricsSource } from "../live/metrics";
import type { Route } from "../router";
import { Chart, seriesClass } from "./Chart";
import { ProgressBar } from "./ProgressBar";
import { formatValue, withUnits } from "./scale";

const KEY = "coflux-run-metrics";
/** Cards drawn at most (each may page in an execution's points); the rest are counted. */
const CARDS = 24;

interface Card {
  step: Step;
  executionId: string;
  chart: MetricChart;
}

function storedOpen(): boolean {
  try {
    return localStorage.getItem(KEY) !== "closed";
  } catch {
    return true;
  }
}

/** Each step's charts, in step order: one pass over the executions that have metrics. */
export function runCards(source: MetricsSource, model: RunModel): Card[] {
  const book = source.book;
  const cards: Card[] = [];
  for (const [executionId, list] of book.byExecution) {
    const step = model.steps.get(stepIdOf(executionId));
    if (!step || metricExecution(book, step.executions.map((e) => e.id)) !== executionId) continue;
    for (const chart of chartsOf(list)) cards.push({ step, executionId, chart });
  }
  return cards.sort((a, b) => a.step.number - b.step.number);
}

interface Props {
  source: MetricsSource;
  model: RunModel;
  stepRoute(stepId: string): Route;
}

export function RunMetrics({ source, model, stepRoute }: Props) {
  const [open, setOpen] = useState(storedOpen);
  // Rebuilt when the metrics or the steps change, not on every frame of a live run.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const cards = useMemo(() => runCards(source, model), [source, source.book.version, model, model.version]);
  if (cards.length === 0) return null;
  const steps = new Set(cards.map((c) => c.step.id)).size;
  const toggle = () => {
    setOpen(!open);
    try {
      localStorage.setItem(KEY, open ? "closed" : "open");
    } catch {
      // Private mode: the choice lasts for this page only.
    }
  };
  return (
    <section class={`run-metrics${open ? "" : " closed"}`} aria-labelledby="run-metrics-title">
      <div class="run-metrics-head row">
        <h2 id="run-metrics-title">Metrics</h2>
        <span class="faint">
          {formatCount(cards.length)} {cards.length === 1 ? "chart" : "charts"} · {formatCount(steps)} {steps === 1 ? "step" : "steps"}
        </span>
        <span class="spacer" />
        <button type="button" class="small ghost" aria-expanded={open} aria-controls="run-metrics-cards" onClick={toggle}>
          {open ? "Hide" : "Show"}
        </button>
      </div>
      {open && (
        <ul id="run-metrics-cards" class="metric-cards" aria-label="Metrics of the run's steps">
          {cards.slice(0, CARDS).map((card) => (
            <MetricCard key={`${card.executionId}|${card.chart.id}`} card={card} source={source} to={stepRoute(card.step.id)} />
          ))}
          {cards.length > CARDS && (
            <li class="metric-card more faint">
              {formatCount(cards.length - CARDS)} more: open a step for its charts.
            </li>
          )}
        </ul>
      )}
    </section>
  );
}

function MetricCard({ card, source, to }: { card: Card; source: MetricsSource; to: Route }) {
  const { step, chart, executionId } = card;
  const plotted = chart.series.length > 0;
  useEffect(() => {
    if (plotted) source.wantPoints(executionId);
  }, [source, executionId, plotted]);
  const name = `${step.target} #${step.number}`;
  const points = chart.series.reduce((n, s) => n + s.xs.length, 0);
  return (
    <li class="metric-card" data-chart={chart.title} data-step={step.id}>
      <div class="metric-card-head">
        <Link to={to} class="mono" title={`Open ${name}`}>
          {name}
        </Link>
        {chart.group && <span class="metric-title">{chart.title}</span>}
      </div>
      {chart.progress.map((s) => {
        const progress = progressOf(s);
        return progress && <ProgressBar key={s.key} progress={progress} label={s.key} />;
      })}
      {plotted && points > 0 && <Chart chart={chart} label={`${chart.title}, ${name}`} compact />}
      {plotted && (
        <ul class="metric-values">
          {chart.series.map((s, i) => (
            <li key={s.key} class={seriesClass(i)}>
              <span class="metric-swatch" aria-hidden="true" />
              <span class="mono">{s.key}</span>
              <span class="metric-latest">{s.latest ? withUnits(formatValue(s.latest.value), unitsOf(chart, s)) : "–"}</span>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
