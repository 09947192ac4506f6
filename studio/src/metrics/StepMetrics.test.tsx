// @vitest-environment happy-dom
import { render } from "preact";
import { act } from "preact/test-utils";
import { describe, expect, it, vi } from "vitest";
import type { MetricView } from "../api/types";
import type { MetricsSource } from "../live/metrics";
import { addMetricPage, addMetricViews, applyMetricsFact, emptyMetricBook, keepPoints } from "../model/metrics";
import { fromSnapshot } from "../model/run";
import { execution, RUN, run, step } from "../test/fixtures";
import { mount } from "../test/mount";
import { StepMetrics } from "./StepMetrics";

const E = `${RUN}:2:1`;
const training = { name: "training", units: "epoch", lower: 0, upper: 10 };

function view(key: string, extra: Partial<MetricView>): MetricView {
  return { execution_id: E, key, group: training, scale: null, throttle: null, created_at: 100, count: 0, value: null, at: null, ...extra };
}

/** A source whose `wantPoints` keeps points, as the live one does before paging them in. */
function source(): MetricsSource & { wantPoints: ReturnType<typeof vi.fn> } {
  const book = emptyMetricBook();
  return { book, missing: false, wantPoints: vi.fn((id: string) => void keepPoints(book, id)) };
}

function trainingRun() {
  return fromSnapshot(run([step(1, "main", null), step(2, "train", `${RUN}:1:1`, [], "assigned")]));
}

function epochs(count: number, from = 0) {
  const points = [];
  for (let epoch = from; epoch < from + count; epoch++) {
    points.push({ id: 100 + epoch, execution_id: E, key: "loss", value: 1 / (epoch + 1), at: epoch });
    points.push({ id: 200 + epoch, execution_id: E, key: "accuracy", value: 10 * epoch, at: epoch });
  }
  return points;
}

describe("StepMetrics", () => {
  it("draws a group's metrics on one chart, with its points, latest values and units, live", () => {
    const metrics = source();
    addMetricViews(metrics.book, [
      view("loss", { scale: { name: "error" }, count: 5, value: 0.2, at: 4 }),
      view("accuracy", { scale: { units: "%", lower: 0, upper: 100 }, count: 5, value: 40, at: 4 }),
    ]);
    const model = trainingRun();
    const panel = () => <StepMetrics source={metrics} step={model.steps.get(`${RUN}:2`)!} />;
    const root = mount(panel());
    // Asked first for this execution's points; until they come, it says so.
    expect(metrics.wantPoints).toHaveBeenCalledWith(E, true);
    expect(root.querySelector(".metric-empty")?.textContent).toBe("Loading points…");

    act(() => {
      addMetricPage(metrics.book, E, epochs(5));
      render(panel(), root);
    });
    const figure = root.querySelector("figure[data-chart=training]")!;
    expect(figure.querySelector("figcaption")?.textContent).toBe("trainingby epoch");
    expect(figure.querySelector("svg")?.getAttribute("data-points")).toBe("10");
    expect(figure.querySelectorAll(".metric-point")).toHaveLength(10);
    expect(figure.querySelector("[data-metric=accuracy] .metric-latest")?.textContent).toBe("40%");
    expect(figure.querySelector("[data-metric=accuracy]")?.textContent).toContain("right axis");
    // The right axis is the percentage's, with its bounds: 0 to 100.
    const ticks = [...figure.querySelectorAll(".metric-tick")].map((t) => t.textContent);
    expect(ticks).toContain("100");

    act(() => {
      applyMetricsFact(metrics.book, {
        fact: "metrics",
        execution_id: E,
        run_id: RUN,
        definitions: [],
        series: [
          { key: "loss", points: [[1 / 6, 5]] },
          { key: "accuracy", points: [[50, 5]] },
        ],
        at: 200,
      });
      render(panel(), root);
    });
    expect(figure.querySelector("svg")?.getAttribute("data-points")).toBe("12");
    expect(figure.querySelector("[data-metric=accuracy] .metric-latest")?.textContent).toBe("50%");
  });

  it("reads out the values at each x with the arrow keys", () => {
    const metrics = source();
    addMetricViews(metrics.book, [view("loss", {}), view("accuracy", { scale: { units: "%" } })]);
    keepPoints(metrics.book, E);
    addMetricPage(metrics.book, E, epochs(3));
    const model = trainingRun();
    const root = mount(<StepMetrics source={metrics} step={model.steps.get(`${RUN}:2`)!} />);
    const svg = root.querySelector("svg.metric-svg")!;
    expect(svg.getAttribute("tabindex")).toBe("0");
    const key = (name: string) => act(() => void svg.dispatchEvent(new KeyboardEvent("keydown", { key: name, bubbles: true })));
    const readout = () => root.querySelector(".metric-readout")?.textContent;
    key("ArrowRight");
    expect(readout()).toBe("epoch 0 · loss 1, accuracy 0%");
    key("ArrowRight");
    key("ArrowRight");
    key("ArrowRight"); // stays on the last
    expect(readout()).toBe("epoch 2 · loss 0.3333, accuracy 20%");
    key("Home");
    expect(readout()).toBe("epoch 0 · loss 1, accuracy 0%");
    expect(root.querySelectorAll(".metric-cursor circle")).toHaveLength(2);
    key("Escape");
    expect(root.querySelector(".metric-cursor")).toBeNull();
  });

  it("lists every value in a table once opened", () => {
    const metrics = source();
    addMetricViews(metrics.book, [view("loss", {}), view("accuracy", { scale: { units: "%" } })]);
    keepPoints(metrics.book, E);
    addMetricPage(metrics.book, E, [...epochs(3), { id: 300, execution_id: E, key: "loss", value: 0.1, at: 7 }]);
    const model = trainingRun();
    const root = mount(<StepMetrics source={metrics} step={model.steps.get(`${RUN}:2`)!} />);
    const details = root.querySelector("details.metric-data") as HTMLDetailsElement;
    expect(root.querySelector("table")).toBeNull();
    act(() => {
      details.open = true;
      details.dispatchEvent(new Event("toggle"));
    });
    const table = root.querySelector("table[aria-label='Values of training']")!;
    expect([...table.querySelectorAll("thead th")].map((th) => th.textContent)).toEqual(["epoch", "loss", "accuracy (%)"]);
    const rows = [...table.querySelectorAll("tbody tr")].map((tr) => [...tr.children].map((c) => c.textContent));
    expect(rows).toEqual([
      ["0", "1", "0"],
      ["1", "0.5", "10"],
      ["2", "0.3333", "20"],
      ["7", "0.1", "–"],
    ]);
  });

  it("draws a progress metric as a bar with its percentage, not a chart", () => {
    const metrics = source();
    addMetricViews(metrics.book, [view("progress", { group: null, scale: { progress: true, upper: 40 }, count: 2, value: 20, at: 0.5 })]);
    const model = trainingRun();
    const root = mount(<StepMetrics source={metrics} step={model.steps.get(`${RUN}:2`)!} />);
    const bar = root.querySelector("[role=progressbar]")!;
    expect(bar.getAttribute("aria-label")).toBe("progress");
    expect(bar.getAttribute("aria-valuenow")).toBe("50");
    expect(bar.getAttribute("aria-valuetext")).toBe("50% (20 / 40)");
    expect(root.querySelector("svg")).toBeNull();
    expect(root.querySelector("figcaption")).toBeNull();
  });

  it("shows nothing for a step without metrics, and lets one choose among attempts that have some", () => {
    const metrics = source();
    const model = trainingRun();
    const empty = mount(<StepMetrics source={metrics} step={model.steps.get(`${RUN}:2`)!} />);
    expect(empty.innerHTML).toBe("");
    expect(metrics.wantPoints).not.toHaveBeenCalled();

    const retried = step(2, "train", `${RUN}:1:1`);
    retried.executions.push(execution(`${RUN}:2`, 2, "assigned", 110));
    const twice = fromSnapshot(run([step(1, "main", null), retried]));
    addMetricViews(metrics.book, [view("loss", { value: 1, at: 0 }), view("loss", { execution_id: `${RUN}:2:2`, value: 2, at: 0 })]);
    const root = mount(<StepMetrics source={metrics} step={twice.steps.get(`${RUN}:2`)!} />);
    const select = root.querySelector("select[aria-label='Metrics of attempt']") as HTMLSelectElement;
    expect(select.value).toBe(`${RUN}:2:2`);
    expect(metrics.wantPoints).toHaveBeenLastCalledWith(`${RUN}:2:2`, true);
    act(() => {
      select.value = `${RUN}:2:1`;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(metrics.wantPoints).toHaveBeenLastCalledWith(`${RUN}:2:1`, true);
    expect(root.querySelector("[data-metric=loss] .metric-latest")?.textContent).toBe("1");
  });
});
