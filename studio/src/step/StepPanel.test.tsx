// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { MetricsSource } from "../live/metrics";
import { addMetricViews, emptyMetricBook } from "../model/metrics";
import { fromSnapshot } from "../model/run";
import { groupRun, RUN, run, step } from "../test/fixtures";
import { flush, mount } from "../test/mount";
import { StepPanel } from "./StepPanel";

function failedRun() {
  const view = run([step(1, "main", null), step(2, "divide", `${RUN}:1:1`, [], "failed")]);
  view.steps[1]!.executions[0]!.outcome = {
    tag: "failed",
    error: { type: "builtins.ZeroDivisionError", message: "division by zero", traceback: "Traceback (most recent call last):\n  ..." },
  };
  return fromSnapshot(view);
}

function panel(model = failedRun(), id = `${RUN}:2`, metrics?: MetricsSource) {
  return mount(
    <StepPanel
      project="demo"
      runAssets={null}
      metrics={metrics}
      model={model}
      step={model.steps.get(id)!}
      parameters={[{ name: "a" }]}
      environments={[]}
      stepRoute={(stepId) => ({ page: "run", project: "demo", environment: "production", run: RUN, step: Number(stepId.split(":")[1]), view: "graph" })}
      onClose={() => undefined}
      onShowLogs={() => undefined}
    />,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("StepPanel", () => {
  it("shows an error with its type, message and traceback, and the caller", () => {
    const root = panel();
    expect(root.querySelector("[aria-label=Error]")?.textContent).toContain("builtins.ZeroDivisionError: division by zero");
    expect(root.querySelector(".traceback")?.textContent).toContain("Traceback");
    expect(root.textContent).toContain("Called by");
    expect(root.querySelector("table[aria-label=Executions] [data-execution]")?.textContent).toContain("failed");
  });

  it("says plainly when the server cannot re-run steps", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ error: { reason: "not_found", message: "no such endpoint" } }), { status: 404 }));
    vi.stubGlobal("fetch", fetch);
    const root = panel();
    const button = [...root.querySelectorAll("button")].find((b) => b.textContent?.includes("Re-run"))!;
    act(() => button.click());
    await flush();
    await flush();
    expect(fetch).toHaveBeenCalledWith(`/api/projects/demo/steps/${RUN}%3A2/rerun`, expect.objectContaining({ method: "POST" }));
    expect(root.querySelector("[role=alert]")?.textContent).toMatch(/Re-run is not available on this server/);
  });

  it("re-runs in the chosen environment", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ execution_id: `${RUN}:2:2` }), { status: 201 }));
    vi.stubGlobal("fetch", fetch);
    const root = panel();
    const button = [...root.querySelectorAll("button")].find((b) => b.textContent?.includes("Re-run"))!;
    act(() => button.click());
    await flush();
    await flush();
    expect(JSON.parse((fetch.mock.calls[0] as unknown as [string, RequestInit])[1].body as string)).toEqual({ environment: null });
    expect(root.textContent).toContain(`Started execution ${RUN}:2:2`);
  });

  it("shows the step's metrics after its result, and no metrics section without any", () => {
    const book = emptyMetricBook();
    const metrics: MetricsSource = { book, missing: false, wantPoints: () => undefined };
    expect(panel(failedRun(), `${RUN}:2`, metrics).querySelector("[data-testid=step-metrics]")).toBeNull();
    addMetricViews(book, [
      { execution_id: `${RUN}:2:1`, key: "progress", group: null, scale: { progress: true, upper: 8 }, throttle: 10, created_at: 1, count: 2, value: 2, at: 1 },
    ]);
    const root = panel(failedRun(), `${RUN}:2`, metrics);
    const section = root.querySelector("[data-testid=step-metrics]")!;
    expect(section.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow")).toBe("25");
    const headings = [...root.querySelectorAll(".step-section h3")].map((h) => h.textContent);
    expect(headings.indexOf("Metrics")).toBe(headings.indexOf("Error") + 1);
  });

  it("names the group of a grouped step, its place and its members' states", () => {
    const root = panel(fromSnapshot(groupRun(["succeeded", "failed", "succeeded"], "chapters")), `${RUN}:3`);
    expect(root.querySelector("[data-testid=step-group]")?.textContent).toBe("In group chapters, step 2 of 3 (3 steps · 1 failed)");
    expect(root.querySelector(".step-head")?.textContent).toContain("group chapters");
  });

  it("shows a timed-out step as an error with its limit, and its options", () => {
    const view = run([step(1, "main", null), step(2, "crawl", `${RUN}:1:1`, [], "timed_out")]);
    view.steps[1]!.executions[0]!.outcome = { tag: "timed_out", timeout: 1 };
    view.steps[1]!.options = { timeout: 1, retries: { limit: null, delay_min: 1, delay_max: 60 } };
    const root = panel(fromSnapshot(view));
    expect(root.querySelector(".step-head [data-state]")?.textContent).toContain("timed out");
    expect(root.querySelector("[aria-label=Error]")?.textContent).toBe("Timed out after 1 s: its agent stopped the execution.");
    expect(root.querySelector("[aria-label=Options]")?.textContent).toContain("retries unlimited, back-off 1 s–60 s");
    expect(root.querySelector("[aria-label=Options]")?.textContent).toContain("timeout 1 s");
  });
});
