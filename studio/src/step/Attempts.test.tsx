// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RunView } from "../api/types";
import { fromSnapshot, type RunModel } from "../model/run";
import { href, parseRoute, type Route } from "../router";
import { execution, RUN, run, step } from "../test/fixtures";
import { flush, mount } from "../test/mount";
import { chosenExecution, executionRoute, standIn } from "./attempts";
import { StepPanel } from "./StepPanel";

const PLACE = { project: "demo", environment: "production" };

/** A step that failed on its first attempt and succeeded on its second. */
function retriedRun(): RunView {
  const view = run([step(1, "main", null), step(2, "flaky", `${RUN}:1:1`, [], "failed")]);
  const flaky = view.steps[1]!;
  flaky.executions[0]!.outcome = { tag: "failed", error: { type: "builtins.RuntimeError", message: "the first attempt fails", traceback: "Traceback: line 1" } };
  const second = execution(flaky.id, 2, "succeeded", 110);
  second.outcome = { tag: "succeeded", value: { format: "json", data: "succeeded on attempt 2" } };
  second.session_id = "session-two";
  flaky.executions.push(second);
  return view;
}

function stepRoute(stepId: string): Route {
  return { page: "run", ...PLACE, run: RUN, step: Number(stepId.split(":")[1]), view: "graph", attempt: null };
}

function panel(model: RunModel, id: string, attempt: number | null = null) {
  return mount(
    <StepPanel
      project="demo"
      runAssets={null}
      model={model}
      step={model.steps.get(id)!}
      parameters={[]}
      environments={[]}
      stepRoute={stepRoute}
      attempt={attempt}
      onClose={() => undefined}
      onShowLogs={() => undefined}
    />,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the attempt picker", () => {
  it("shows the latest attempt by default, and links each attempt by its URL", () => {
    const root = panel(fromSnapshot(retriedRun()), `${RUN}:2`);
    expect(root.querySelector("[data-testid=step-result]")?.textContent).toContain("succeeded on attempt 2");
    expect(root.querySelector("[aria-label=Error]")).toBeNull();
    const links = [...root.querySelectorAll<HTMLAnchorElement>("nav[aria-label=Attempts] a")];
    expect(links.map((a) => a.textContent)).toEqual(["1", "2"]);
    expect(links.map((a) => a.getAttribute("href"))).toEqual([
      `/projects/demo/environments/production/runs/${RUN}/steps/2?attempt=1`,
      `/projects/demo/environments/production/runs/${RUN}/steps/2`,
    ]);
    expect(links[1]!.getAttribute("aria-current")).toBe("true");
    expect(root.querySelector("[aria-label='Attempt 2']")?.textContent).toContain("session-two");
  });

  it("shows a chosen earlier attempt's error and traceback, and marks its row", () => {
    const root = panel(fromSnapshot(retriedRun()), `${RUN}:2`, 1);
    expect(root.querySelector("[aria-label=Error]")?.textContent).toContain("builtins.RuntimeError: the first attempt fails");
    expect(root.querySelector(".traceback")?.textContent).toBe("Traceback: line 1");
    expect(root.querySelector("[data-testid=step-result]")).toBeNull();
    expect(root.querySelector("section[aria-label=Attempt] h3")?.textContent).toBe("Error of attempt 1");
    expect(root.querySelector("tr[aria-current=true]")?.getAttribute("data-execution")).toBe(`${RUN}:2:1`);
    expect(root.querySelector("nav[aria-label=Attempts] [aria-current=true]")?.textContent).toBe("1");
  });

  it("has no picker for a step tried once, and falls back to the latest for an unknown attempt", () => {
    const model = fromSnapshot(retriedRun());
    expect(panel(model, `${RUN}:1`).querySelector("nav[aria-label=Attempts]")).toBeNull();
    const flaky = model.steps.get(`${RUN}:2`)!;
    expect(chosenExecution(flaky, 9)?.attempt).toBe(2);
    expect(chosenExecution(flaky, null)?.attempt).toBe(2);
    expect(chosenExecution(flaky, 1)?.attempt).toBe(1);
  });

  it("reads the shown attempt's own logs from the server", async () => {
    const fetch = vi.fn(async (url: string) => {
      const after = new URL(url, "http://x").searchParams.get("after");
      const logs = after === "0" ? [{ id: 5, run_id: RUN, execution_id: `${RUN}:2:1`, timestamp: 102, level: "info", template: "try {n}", values: { n: { format: "json", data: 1 } } }] : [];
      return new Response(JSON.stringify({ logs, cursor: after === "0" ? 5 : Number(after) }), { status: 200 });
    });
    vi.stubGlobal("fetch", fetch);
    const root = panel(fromSnapshot(retriedRun()), `${RUN}:2`, 1);
    const button = [...root.querySelectorAll("button")].find((b) => b.textContent === "Show this attempt's logs")!;
    act(() => button.click());
    await flush();
    await flush();
    expect(fetch.mock.calls[0]![0]).toBe(`/api/projects/demo/runs/${RUN}/logs?execution=${RUN}%3A2%3A1&after=0`);
    expect(root.querySelector("[aria-label='Logs of attempt 1']")?.textContent).toContain("try 1");
  });
});

describe("links between executions", () => {
  it("links a cached step to the execution it reused, a spawned one to its run", () => {
    const view = run([step(1, "main", null), step(2, "expensive", `${RUN}:1:1`, [], "cached"), step(3, "child", `${RUN}:1:1`, [], "spawned")]);
    view.steps[1]!.executions[0]!.successor = "older:3:1";
    view.steps[2]!.executions[0]!.successor = "child9:1:1";
    const model = fromSnapshot(view);
    const cached = panel(model, `${RUN}:2`).querySelector("[data-testid=stand-in]")!;
    expect(cached.textContent).toBe("Reused the result of older:3:1");
    expect(cached.querySelector("a")?.getAttribute("href")).toBe("/projects/demo/environments/production/runs/older/steps/3?attempt=1");
    const spawned = panel(model, `${RUN}:3`).querySelector("[data-testid=stand-in]")!;
    expect(spawned.textContent).toBe("Spawned run child9");
    expect(spawned.querySelector("a")?.getAttribute("href")).toBe("/projects/demo/environments/production/runs/child9");
  });

  it("names what replaced a deferred call, and nothing for an execution that stands in for none", () => {
    const model = fromSnapshot(run([step(1, "main", null, [], "deferred"), step(2, "square", `${RUN}:1:1`)]));
    const deferred = model.executions.get(`${RUN}:1:1`)!;
    expect(standIn(PLACE, deferred)).toBeNull(); // no successor yet
    deferred.successor = `${RUN}:5:1`;
    expect(standIn(PLACE, deferred)).toMatchObject({ kind: "deferred", executionId: `${RUN}:5:1` });
    expect(standIn(PLACE, model.executions.get(`${RUN}:2:1`)!)).toBeNull();
  });

  it("round-trips an attempt in the step's URL, and drops it without a step", () => {
    const route = executionRoute(PLACE, "other:12:3");
    expect(route).toEqual({ page: "run", ...PLACE, run: "other", step: 12, view: "graph", attempt: 3 });
    const url = new URL(href({ ...route, view: "logs" } as Route), "http://x");
    expect(url.search).toBe("?view=logs&attempt=3");
    expect(parseRoute(url.pathname, url.search)).toEqual({ ...route, view: "logs" });
    expect(parseRoute("/projects/demo/environments/production/runs/r/steps/2", "?attempt=x")).not.toHaveProperty("attempt");
    expect(href({ page: "run", ...PLACE, run: "r", step: null, view: "graph", attempt: 2 })).toBe("/projects/demo/environments/production/runs/r");
  });
});
