// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { MetricView } from "../api/types";
import type { MetricsSource } from "../live/metrics";
import { addMetricPage, addMetricViews, emptyMetricBook, keepPoints } from "../model/metrics";
import { fromSnapshot } from "../model/run";
import { execution, RUN, run, step } from "../test/fixtures";
import { mount } from "../test/mount";
import { RunMetrics } from "./RunMetrics";

function view(executionId: string, key: string, extra: Partial<MetricView> = {}): MetricView {
  return { execution_id: executionId, key, group: null, scale: null, throttle: null, created_at: 100, count: 1, value: 1, at: 1, ...extra };
}

function source(): MetricsSource & { wantPoints: ReturnType<typeof vi.fn> } {
  const book = emptyMetricBook();
  return { book, missing: false, wantPoints: vi.fn((id: string) => void keepPoints(book, id)) };
}

/** main #1 calling train #2 (retried: attempt 2 is the latest), process #3 and idle #4. */
function model() {
  const train = step(2, "train", `${RUN}:1:1`);
  train.executions.push(execution(`${RUN}:2`, 2, "assigned", 110));
  return fromSnapshot(run([step(1, "main", null), train, step(3, "process", `${RUN}:1:1`), step(4, "idle", `${RUN}:1:1`)]));
}

const stepRoute = (id: string) => ({ page: "run" as const, project: "demo", environment: "production", run: RUN, step: Number(id.split(":")[1]), view: "graph" as const });
const training = { name: "training", units: "epoch" };

afterEach(() => {
  localStorage.clear();
});

describe("RunMetrics", () => {
  it("shows nothing for a run without metrics", () => {
    const root = mount(<RunMetrics source={source()} model={model()} stepRoute={stepRoute} />);
    expect(root.innerHTML).toBe("");
  });

  it("has a card per chart of each step's latest metrics, in step order, linking to the step", () => {
    const metrics = source();
    addMetricViews(metrics.book, [
      view(`${RUN}:3:1`, "progress", { scale: { progress: true, upper: 4 }, value: 3 }),
      view(`${RUN}:2:1`, "loss", { group: training, value: 9 }),
      view(`${RUN}:2:2`, "loss", { group: training, value: 0.5, at: 2 }),
      view(`${RUN}:2:2`, "accuracy", { group: training, scale: { units: "%" }, value: 75, at: 2 }),
    ]);
    keepPoints(metrics.book, `${RUN}:2:2`);
    addMetricPage(metrics.book, `${RUN}:2:2`, [
      { id: 1, execution_id: `${RUN}:2:2`, key: "loss", value: 1, at: 1 },
      { id: 2, execution_id: `${RUN}:2:2`, key: "loss", value: 0.5, at: 2 },
      { id: 3, execution_id: `${RUN}:2:2`, key: "accuracy", value: 75, at: 2 },
    ]);
    const root = mount(<RunMetrics source={metrics} model={model()} stepRoute={stepRoute} />);
    expect(root.querySelector(".run-metrics-head")?.textContent).toContain("2 charts · 2 steps");
    const cards = [...root.querySelectorAll(".metric-card")];
    expect(cards.map((c) => c.getAttribute("data-step"))).toEqual([`${RUN}:2`, `${RUN}:3`]);
    const [train, process] = cards as [Element, Element];
    expect(train.querySelector("a")?.getAttribute("href")).toBe(`/projects/demo/environments/production/runs/${RUN}/steps/2`);
    expect(train.querySelector(".metric-title")?.textContent).toBe("training");
    // The latest attempt's values, a small chart, and its points asked for.
    expect([...train.querySelectorAll(".metric-values li")].map((li) => li.textContent)).toEqual(["loss0.5", "accuracy75%"]);
    expect(train.querySelector("svg")?.getAttribute("data-points")).toBe("3");
    expect(metrics.wantPoints).toHaveBeenCalledWith(`${RUN}:2:2`);
    // A progress metric alone: a bar, no chart, and nothing to page in.
    expect(process.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow")).toBe("75");
    expect(process.querySelector("svg")).toBeNull();
    expect(metrics.wantPoints).not.toHaveBeenCalledWith(`${RUN}:3:1`);
  });

  it("folds away, remembering it, and then asks for no points", () => {
    const metrics = source();
    addMetricViews(metrics.book, [view(`${RUN}:3:1`, "loss")]);
    const root = mount(<RunMetrics source={metrics} model={model()} stepRoute={stepRoute} />);
    const toggle = root.querySelector("button[aria-controls=run-metrics-cards]") as HTMLButtonElement;
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    act(() => toggle.click());
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(root.querySelector(".metric-cards")).toBeNull();
    expect(localStorage.getItem("coflux-run-metrics")).toBe("closed");

    const again = source();
    addMetricViews(again.book, [view(`${RUN}:3:1`, "loss")]);
    const later = mount(<RunMetrics source={again} model={model()} stepRoute={stepRoute} />);
    expect(later.querySelector(".metric-cards")).toBeNull();
    expect(again.wantPoints).not.toHaveBeenCalled();
  });
});
