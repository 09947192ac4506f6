/**
 * A run's metrics, merged from three sources: the list of each execution's metrics
 * with its latest point (`GET .../metrics`), pages of points (`GET .../metrics/points`,
 * which carry a cursor id) and live `metrics` facts (which do not).
 *
 * A metric's points come in strictly increasing x (`at`, docs/metrics.md), so within
 * one execution and key `at` names a point: one seen through two sources (the list,
 * the pages and the facts overlap) is kept once, and a page that arrives after newer
 * live points is slotted in before them.
 *
 * Points are kept only for executions someone charts (`keepPoints`); of the others
 * only the definition, the latest point and the count, so a large run spends no
 * memory on charts nobody draws. Like the run model, the book is mutated in place and
 * `version` changes on every change.
 */

import type { MetricDefinition, MetricGroupInfo, MetricPointView, MetricScaleInfo, MetricsFact, MetricView } from "../api/types";
import { stepIdOf } from "./ids";

export interface MetricPoint {
  at: number;
  value: number;
}

export interface MetricSeries {
  executionId: string;
  key: string;
  /** False until the definition arrives (a live point can come before the list does). */
  defined: boolean;
  group: MetricGroupInfo | null;
  scale: MetricScaleInfo | null;
  /** The points kept (only for executions in `MetricBook.cursors`), `xs` strictly increasing. */
  xs: number[];
  ys: number[];
  latest: MetricPoint | null;
  /** How many points it has, as far as known. */
  count: number;
}

export interface MetricBook {
  series: Map<string, MetricSeries>;
  /** Each execution's metrics, in the order first seen (the list's: the order defined). */
  byExecution: Map<string, MetricSeries[]>;
  /** Executions whose points are kept, with the last page cursor seen (0: none yet). */
  cursors: Map<string, number>;
  /** Kept executions whose points have all been paged in once. */
  loaded: Set<string>;
  version: number;
}

/** A page of points holds at most this many; a shorter one is the last. */
export const POINTS_PAGE = 1000;

export function emptyMetricBook(): MetricBook {
  return { series: new Map(), byExecution: new Map(), cursors: new Map(), loaded: new Set(), version: 0 };
}

function seriesOf(book: MetricBook, executionId: string, key: string): MetricSeries {
  const id = `${executionId}\n${key}`;
  let series = book.series.get(id);
  if (!series) {
    series = { executionId, key, defined: false, group: null, scale: null, xs: [], ys: [], latest: null, count: 0 };
    book.series.set(id, series);
    let list = book.byExecution.get(executionId);
    if (!list) book.byExecution.set(executionId, (list = []));
    list.push(series);
  }
  return series;
}

function define(series: MetricSeries, definition: Pick<MetricDefinition, "group" | "scale">): boolean {
  if (series.defined) return false;
  series.defined = true;
  series.group = definition.group ?? null;
  series.scale = definition.scale ?? null;
  return true;
}

/** Keep `at, value` in order; false if a point at `at` is there already. */
export function insertPoint(series: MetricSeries, at: number, value: number): boolean {
  const { xs, ys } = series;
  const n = xs.length;
  if (n === 0 || at > (xs[n - 1] as number)) {
    xs.push(at);
    ys.push(value);
    return true;
  }
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < at) lo = mid + 1;
    else hi = mid;
  }
  if (xs[lo] === at) return false;
  xs.splice(lo, 0, at);
  ys.splice(lo, 0, value);
  return true;
}

/** Record a point of `series`; returns whether the book learnt anything. */
function notePoint(book: MetricBook, series: MetricSeries, at: number, value: number): boolean {
  let changed = false;
  if (!series.latest || at > series.latest.at) {
    // The count covers the points up to the latest, so one past it is one more.
    series.latest = { at, value };
    series.count += 1;
    changed = true;
  }
  if (book.cursors.has(series.executionId) && insertPoint(series, at, value)) changed = true;
  series.count = Math.max(series.count, series.xs.length);
  return changed;
}

/** The list's views: definitions, counts and latest points (not added as points: pages bring those). */
export function addMetricViews(book: MetricBook, views: MetricView[]): boolean {
  let changed = false;
  for (const view of views) {
    const series = seriesOf(book, view.execution_id, view.key);
    if (define(series, view)) changed = true;
    if (view.count > series.count) {
      series.count = view.count;
      changed = true;
    }
    if (view.at !== null && view.value !== null && (!series.latest || view.at > series.latest.at)) {
      series.latest = { at: view.at, value: view.value };
      changed = true;
    }
  }
  if (changed) book.version++;
  return changed;
}

/** Start keeping an execution's points; true if it was not kept (its pages are to be fetched). */
export function keepPoints(book: MetricBook, executionId: string): boolean {
  if (book.cursors.has(executionId)) return false;
  book.cursors.set(executionId, 0);
  return true;
}

/** A page of an execution's points (fetched after `book.cursors`). */
export function addMetricPage(book: MetricBook, executionId: string, points: MetricPointView[]): boolean {
  let changed = false;
  let cursor = book.cursors.get(executionId) ?? 0;
  for (const point of points) {
    cursor = Math.max(cursor, point.id);
    if (point.execution_id !== executionId) continue;
    if (notePoint(book, seriesOf(book, executionId, point.key), point.at, point.value)) changed = true;
  }
  if (book.cursors.has(executionId)) book.cursors.set(executionId, cursor);
  if (points.length < POINTS_PAGE && !book.loaded.has(executionId)) {
    book.loaded.add(executionId);
    changed = true;
  }
  if (changed) book.version++;
  return changed;
}

/** A live `metrics` fact: definitions first, then each metric's new points. */
export function applyMetricsFact(book: MetricBook, fact: MetricsFact): boolean {
  let changed = false;
  for (const definition of fact.definitions) {
    if (define(seriesOf(book, fact.execution_id, definition.key), definition)) changed = true;
  }
  for (const { key, points } of fact.series) {
    const series = seriesOf(book, fact.execution_id, key);
    for (const [value, at] of points) if (notePoint(book, series, at, value)) changed = true;
  }
  if (changed) book.version++;
  return changed;
}

// --- progress ---------------------------------------------------------------

export interface Progress {
  key: string;
  done: number;
  /** The scale's `upper` (null: unknown, drawn without a bar). */
  total: number | null;
  /** 0..1 toward the total (null when there is none). */
  fraction: number | null;
}

export function isProgress(series: MetricSeries): boolean {
  return series.scale?.progress === true;
}

/** A progress metric's state (null for another metric). */
export function progressOf(series: MetricSeries): Progress | null {
  if (!isProgress(series)) return null;
  const done = series.latest?.value ?? 0;
  const lower = series.scale?.lower ?? 0;
  const upper = series.scale?.upper ?? null;
  const fraction = upper !== null && upper > lower ? Math.min(1, Math.max(0, (done - lower) / (upper - lower))) : null;
  return { key: series.key, done, total: upper, fraction };
}

/** "50%": whole percents, never 100% before the end (nor 0% after the start). */
export function percent(fraction: number): string {
  let whole = Math.round(fraction * 100);
  if (whole === 100 && fraction < 1) whole = 99;
  if (whole === 0 && fraction > 0) whole = 1;
  return `${whole}%`;
}

/**
 * Each step's progress, for the graph: the first progress metric of the step's
 * latest execution (`latestOf`). Costs one pass over the executions with metrics,
 * not over the steps.
 */
export function progressByStep(book: MetricBook, latestOf: (stepId: string) => string | undefined): Map<string, Progress> {
  const out = new Map<string, Progress>();
  for (const [executionId, list] of book.byExecution) {
    const stepId = stepIdOf(executionId);
    if (out.has(stepId) || latestOf(stepId) !== executionId) continue;
    const series = list.find(isProgress);
    const progress = series && progressOf(series);
    if (progress) out.set(stepId, progress);
  }
  return out;
}

// --- charts -------------------------------------------------------------------

/** A y-axis of a chart: the metrics sharing a scale. */
export interface MetricAxis {
  id: string;
  units: string | null;
  lower: number | null;
  upper: number | null;
  series: MetricSeries[];
}

/** One chart: a group's metrics (sharing its x-axis), or a metric without a group. */
export interface MetricChart {
  id: string;
  title: string;
  group: MetricGroupInfo | null;
  /** The plotted metrics, in the order defined, and their y-axes. */
  series: MetricSeries[];
  axes: MetricAxis[];
  /** The group's progress metrics: drawn as bars, not plotted. */
  progress: MetricSeries[];
}

/** Metrics naming a scale share its axis; an unnamed scale is its metric's own; no scale, the chart's default axis. */
function axisId(series: MetricSeries): string {
  const scale = series.scale;
  if (!scale) return "";
  return scale.name ? `scale:${scale.name}` : `metric:${series.key}`;
}

/** An execution's metrics as charts: one per group (in the order first defined), one per ungrouped metric. */
export function chartsOf(list: MetricSeries[]): MetricChart[] {
  const charts = new Map<string, MetricChart>();
  for (const series of list) {
    const group = series.group;
    const id = group ? `group:${group.name}` : `metric:${series.key}`;
    let chart = charts.get(id);
    if (!chart) charts.set(id, (chart = { id, title: group ? group.name : series.key, group, series: [], axes: [], progress: [] }));
    if (isProgress(series)) {
      chart.progress.push(series);
      continue;
    }
    chart.series.push(series);
    const axis = axisId(series);
    let found = chart.axes.find((a) => a.id === axis);
    if (!found) chart.axes.push((found = { id: axis, units: null, lower: null, upper: null, series: [] }));
    found.series.push(series);
    found.units ??= series.scale?.units ?? null;
    found.lower ??= series.scale?.lower ?? null;
    found.upper ??= series.scale?.upper ?? null;
  }
  return [...charts.values()];
}

/** The y-axis of a plotted metric in its chart (its index in `chart.axes`, -1 if not plotted). */
export function axisIndex(chart: MetricChart, series: MetricSeries): number {
  return chart.axes.findIndex((axis) => axis.series.includes(series));
}

/** A plotted metric's units: its axis's. */
export function unitsOf(chart: MetricChart, series: MetricSeries): string | null {
  return chart.axes[axisIndex(chart, series)]?.units ?? null;
}

/** The execution whose metrics a step shows: its latest one that has any. */
export function metricExecution(book: MetricBook, executionIds: string[]): string | null {
  for (let i = executionIds.length - 1; i >= 0; i--) {
    const id = executionIds[i] as string;
    if (book.byExecution.has(id)) return id;
  }
  return null;
}
