// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Fact, RunListed } from "../api/types";
import type { ProjectLive, ProjectState } from "../live/project";
import { Observable } from "../live/store";
import { flush, mount } from "../test/mount";
import { fromLocalInput, localInput, RunHistory } from "./RunHistory";

/** 120 failed runs, newest first, as the server would page them (50 at a time). */
const RUNS: RunListed[] = Array.from({ length: 120 }, (_, i) => ({
  id: `run${String(119 - i).padStart(3, "0")}`,
  environment: "production",
  repository: "flows",
  target: "main",
  state: "failed",
  created_at: 1_700_000_000 + 119 - i,
  completed_at: 1_700_000_001 + 119 - i,
  cursor: `c${i}`,
}));

let requests: URLSearchParams[] = [];

function serve() {
  requests = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      const query = new URL(url, "http://studio").searchParams;
      requests.push(query);
      const after = query.get("after");
      const start = after === null ? 0 : Number(after.slice(1)) + 1;
      const page = RUNS.slice(start, start + Number(query.get("limit")));
      return new Response(JSON.stringify(page), { status: 200 });
    }),
  );
}

function fakeLive(): { live: ProjectLive; send(facts: Fact[]): void } {
  const listeners = new Set<(facts: Fact[]) => void>();
  const state = new Observable<ProjectState>({ envs: null, status: "live", error: null, generation: 1 });
  const live = {
    project: "demo",
    state,
    envName: () => "production",
    onFactsListen(listener: (facts: Fact[]) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as ProjectLive;
  return { live, send: (facts) => listeners.forEach((l) => l(facts)) };
}

const shownRuns = (root: HTMLElement) => [...root.querySelectorAll("tbody tr")].map((r) => r.getAttribute("data-run"));

beforeEach(() => {
  history.replaceState(null, "", "/projects/demo/environments/production?state=failed");
  serve();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("RunHistory", () => {
  it("asks for the URL's filters, then the next pages from the last cursor", async () => {
    const { live } = fakeLive();
    const root = mount(<RunHistory live={live} environment="production" label="Runs" empty="None yet." />);
    await flush();
    expect(requests[0]?.toString()).toBe("environment=production&state=failed&limit=50");
    expect(shownRuns(root)).toEqual(RUNS.slice(0, 50).map((r) => r.id));
    expect(root.textContent).toContain("50 runs shown");
    const more = () => [...root.querySelectorAll("button")].find((b) => b.textContent === "Load more");
    more()!.click();
    await flush();
    expect(requests[1]?.get("after")).toBe("c49");
    more()!.click();
    await flush();
    expect(shownRuns(root)).toEqual(RUNS.map((r) => r.id));
    expect(root.textContent).toContain("120 runs shown (all)");
    expect(more()).toBeUndefined();
  });

  it("puts a changed filter in the URL and starts again from the first page", async () => {
    const { live } = fakeLive();
    const root = mount(<RunHistory live={live} environment="production" label="Runs" empty="None yet." />);
    await flush();
    const cancelled = [...root.querySelectorAll("label")].find((l) => l.textContent === "cancelled")!.querySelector("input")!;
    cancelled.click();
    await flush();
    expect(location.search).toBe("?state=failed&state=cancelled");
    expect(requests.at(-1)?.toString()).toBe("environment=production&state=failed&state=cancelled&limit=50");
    // A search of fewer than three characters is not sent.
    const search = root.querySelector<HTMLInputElement>("#run-filter-search")!;
    search.value = "ab";
    search.dispatchEvent(new Event("input", { bubbles: true }));
    await flush();
    search.form!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    await flush();
    expect(root.textContent).toContain("At least 3 characters");
    expect(location.search).toBe("?state=failed&state=cancelled");
    search.value = "order-7";
    search.dispatchEvent(new Event("input", { bubbles: true }));
    await flush();
    search.form!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    await flush();
    expect(location.search).toBe("?state=failed&state=cancelled&q=order-7");
    expect(requests.at(-1)?.get("search")).toBe("order-7");
  });

  it("keeps the loaded runs live: a first step's transition changes its run", async () => {
    const { live, send } = fakeLive();
    const root = mount(<RunHistory live={live} environment="production" label="Runs" empty="None yet." />);
    await flush();
    send([{ fact: "transition", execution_id: "run119:1:2", run_id: "run119", state: "succeeded", session_id: null, at: 5 }]);
    await flush();
    expect(root.querySelector("tr[data-run='run119'] [data-state]")?.getAttribute("data-state")).toBe("succeeded");
    // A new run is queued: a list of failures does not take it.
    send([{ fact: "run", run_id: "new", environment_id: "e1", repository: "flows", target: "main", idempotency_key: null, at: 9 }]);
    await flush();
    expect(shownRuns(root)[0]).toBe("run119");
  });

  it("shows times as local datetime-local text, and reads them back", () => {
    const epoch = 1_700_000_040; // whole minutes survive the round trip
    expect(fromLocalInput(localInput(epoch))).toBe(epoch);
    expect(localInput(null)).toBe("");
    expect(fromLocalInput("")).toBeNull();
    expect(fromLocalInput("not a time")).toBeNull();
  });
});
