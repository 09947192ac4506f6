import { describe, expect, it } from "vitest";
import type { MetricPointView, MetricsFact, MetricView } from "../api/types";
import { RUN } from "../test/fixtures";
import {
  addMetricPage,
  addMetricViews,
  applyMetricsFact,
  chartsOf,
  emptyMetricBook,
  keepPoints,
  metricExecution,
  percent,
  POINTS_PAGE,
  progressByStep,
  progressOf,
} from "./metrics";

const E2 = `${RUN}:2:1`;
const E3 = `${RUN}:3:1`;
const training = { name: "training", units: "epoch", lower: 0, upper: 5 };

function view(key: string, extra: Partial<MetricView> = {}): MetricView {
  return {
    execution_id: E2,
    key,
    group: training,
    scale: null,
    throttle: null,
    created_at: 100,
    count: 0,
    value: null,
    at: null,
    ...extra,
  };
}

let nextId = 1;
function points(key: string, pairs: Array<[number, number]>, executionId = E2): MetricPointView[] {
  return pairs.map(([at, value]) => ({ id: nextId++, execution_id: executionId, key, value, at }));
}

function fact(series: MetricsFact["series"], definitions: MetricsFact["definitions"] = [], executionId = E2): MetricsFact {
  return { fact: "metrics", execution_id: executionId, run_id: RUN, definitions, series, at: 200 };
}

const seriesOf = (book: ReturnType<typeof emptyMetricBook>, key: string, executionId = E2) => book.series.get(`${executionId}\n${key}`)!;

describe("metric book", () => {
  it("takes definitions and latest points from the list, without adding them as points", () => {
    const book = emptyMetricBook();
    expect(addMetricViews(book, [view("loss", { count: 3, value: 0.3, at: 2 })])).toBe(true);
    const loss = seriesOf(book, "loss");
    expect(loss.defined).toBe(true);
    expect(loss.group).toEqual(training);
    expect(loss.latest).toEqual({ at: 2, value: 0.3 });
    expect(loss.count).toBe(3);
    expect(loss.xs).toEqual([]);
    // The same list again changes nothing.
    const version = book.version;
    expect(addMetricViews(book, [view("loss", { count: 3, value: 0.3, at: 2 })])).toBe(false);
    expect(book.version).toBe(version);
  });

  it("merges pages and live facts into one series in increasing x, each point once", () => {
    const book = emptyMetricBook();
    addMetricViews(book, [view("loss", { count: 2, value: 0.5, at: 1 })]);
    expect(keepPoints(book, E2)).toBe(true);
    expect(keepPoints(book, E2)).toBe(false);
    // Live points arrive before the first page: the page's older points go before them.
    applyMetricsFact(book, fact([{ key: "loss", points: [[0.33, 2], [0.25, 3]] }]));
    addMetricPage(book, E2, points("loss", [[0, 1], [1, 0.5], [2, 0.33]]));
    const loss = seriesOf(book, "loss");
    expect(loss.xs).toEqual([0, 1, 2, 3]);
    expect(loss.ys).toEqual([1, 0.5, 0.33, 0.25]);
    expect(loss.count).toBe(4);
    expect(loss.latest).toEqual({ at: 3, value: 0.25 });
    // A fact repeated across a reconnect, and a page fetched again, change nothing.
    const version = book.version;
    expect(applyMetricsFact(book, fact([{ key: "loss", points: [[0.25, 3]] }]))).toBe(false);
    expect(addMetricPage(book, E2, points("loss", [[3, 0.25]]))).toBe(false);
    expect(book.version).toBe(version);
    expect(loss.xs).toEqual([0, 1, 2, 3]);
  });

  it("moves the page cursor to the last point id seen and marks an execution loaded after a short page", () => {
    const book = emptyMetricBook();
    keepPoints(book, E2);
    const full = Array.from({ length: POINTS_PAGE }, (_, i) => ({ id: 5000 + i, execution_id: E2, key: "every", value: i, at: i }));
    addMetricPage(book, E2, full);
    expect(book.cursors.get(E2)).toBe(5000 + POINTS_PAGE - 1);
    expect(book.loaded.has(E2)).toBe(false);
    addMetricPage(book, E2, []);
    expect(book.loaded.has(E2)).toBe(true);
    expect(seriesOf(book, "every").count).toBe(POINTS_PAGE);
  });

  it("keeps only the latest point and a count for executions nobody charts", () => {
    const book = emptyMetricBook();
    applyMetricsFact(book, fact([{ key: "progress", points: [[1, 0.1], [2, 0.2]] }], [{ key: "progress", scale: { progress: true, upper: 4 } }], E3));
    const progress = seriesOf(book, "progress", E3);
    expect(progress.xs).toEqual([]);
    expect(progress.count).toBe(2);
    expect(progress.latest).toEqual({ at: 0.2, value: 2 });
    expect(progressOf(progress)).toEqual({ key: "progress", done: 2, total: 4, fraction: 0.5 });
  });

  it("holds points that come before their definition, and defines them once it arrives", () => {
    const book = emptyMetricBook();
    keepPoints(book, E2);
    applyMetricsFact(book, fact([{ key: "loss", points: [[0.5, 1]] }]));
    const loss = seriesOf(book, "loss");
    expect(loss.defined).toBe(false);
    expect(loss.xs).toEqual([1]);
    addMetricViews(book, [view("loss", { count: 1, value: 0.5, at: 1 })]);
    expect(loss.defined).toBe(true);
    expect(loss.group?.name).toBe("training");
    expect(book.byExecution.get(E2)).toHaveLength(1);
  });
});

describe("progress", () => {
  it("is a fraction of the scale's range, clamped, unknown without an upper bound", () => {
    const book = emptyMetricBook();
    addMetricViews(book, [
      view("done", { group: null, scale: { progress: true, lower: 10, upper: 30 }, value: 20, at: 1 }),
      view("over", { group: null, scale: { progress: true, upper: 5 }, value: 9, at: 1 }),
      view("open", { group: null, scale: { progress: true }, value: 3, at: 1 }),
      view("loss", { group: null, scale: { units: "" }, value: 3, at: 1 }),
    ]);
    expect(progressOf(seriesOf(book, "done"))?.fraction).toBe(0.5);
    expect(progressOf(seriesOf(book, "over"))?.fraction).toBe(1);
    expect(progressOf(seriesOf(book, "open"))).toEqual({ key: "open", done: 3, total: null, fraction: null });
    expect(progressOf(seriesOf(book, "loss"))).toBeNull();
  });

  it("reads as whole percents that reach 100% only at the end", () => {
    expect(percent(0.5)).toBe("50%");
    expect(percent(0.999)).toBe("99%");
    expect(percent(1)).toBe("100%");
    expect(percent(0.001)).toBe("1%");
    expect(percent(0)).toBe("0%");
  });

  it("gives each step the progress of its latest execution only", () => {
    const book = emptyMetricBook();
    const bar = { group: null, scale: { progress: true, upper: 10 } };
    addMetricViews(book, [
      view("progress", { ...bar, execution_id: `${RUN}:3:1`, value: 10, at: 1 }),
      view("progress", { ...bar, execution_id: `${RUN}:3:2`, value: 4, at: 1 }),
      view("progress", { ...bar, execution_id: `${RUN}:4:1`, value: 5, at: 1 }),
      view("loss", { execution_id: `${RUN}:2:1`, value: 1, at: 1 }),
    ]);
    const latest: Record<string, string> = { [`${RUN}:2`]: `${RUN}:2:1`, [`${RUN}:3`]: `${RUN}:3:2`, [`${RUN}:4`]: `${RUN}:4:1` };
    const byStep = progressByStep(book, (stepId) => latest[stepId]);
    expect([...byStep.keys()].sort()).toEqual([`${RUN}:3`, `${RUN}:4`]);
    expect(byStep.get(`${RUN}:3`)?.fraction).toBe(0.4);
    expect(byStep.get(`${RUN}:4`)?.fraction).toBe(0.5);
  });
});

describe("charts", () => {
  it("draws a group's metrics on one chart, sharing named scales, with its progress apart", () => {
    const book = emptyMetricBook();
    addMetricViews(book, [
      view("loss", { scale: { name: "error" } }),
      view("val_loss", { scale: { name: "error", units: "nats" } }),
      view("accuracy", { scale: { units: "%", lower: 0, upper: 100 } }),
      view("lr"),
      view("momentum"),
      view("batches", { scale: { progress: true, upper: 50 } }),
      view("throughput", { group: null, scale: { units: "items/s" } }),
    ]);
    const charts = chartsOf(book.byExecution.get(E2)!);
    expect(charts.map((c) => c.title)).toEqual(["training", "throughput"]);
    const [group, alone] = charts as [(typeof charts)[0], (typeof charts)[0]];
    expect(group.series.map((s) => s.key)).toEqual(["loss", "val_loss", "accuracy", "lr", "momentum"]);
    expect(group.axes.map((a) => [a.id, a.series.map((s) => s.key)])).toEqual([
      ["scale:error", ["loss", "val_loss"]],
      ["metric:accuracy", ["accuracy"]],
      ["", ["lr", "momentum"]],
    ]);
    expect(group.axes[0]?.units).toBe("nats");
    expect(group.axes[1]).toMatchObject({ units: "%", lower: 0, upper: 100 });
    expect(group.progress.map((s) => s.key)).toEqual(["batches"]);
    expect(alone.group).toBeNull();
    expect(alone.axes[0]?.units).toBe("items/s");
  });

  it("shows a step's latest execution that has metrics", () => {
    const book = emptyMetricBook();
    addMetricViews(book, [view("loss", { execution_id: `${RUN}:2:1` })]);
    expect(metricExecution(book, [`${RUN}:2:1`, `${RUN}:2:2`])).toBe(`${RUN}:2:1`);
    addMetricViews(book, [view("loss", { execution_id: `${RUN}:2:2` })]);
    expect(metricExecution(book, [`${RUN}:2:1`, `${RUN}:2:2`])).toBe(`${RUN}:2:2`);
    expect(metricExecution(book, [`${RUN}:5:1`])).toBeNull();
  });
});
