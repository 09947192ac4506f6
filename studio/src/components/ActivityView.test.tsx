// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import type { EnvironmentActivity, Fact, ProjectActivity } from "../api/types";
import type { ProjectLive, ProjectState } from "../live/project";
import { Observable } from "../live/store";
import { act } from "preact/test-utils";
import { mount } from "../test/mount";
import { failuresFirst, orderedCounts, timeAgo, useLiveActivity } from "./activity";
import { ActivityTable, CompactActivity } from "./ActivityView";

const NOW = 1_700_000_000;

function env(name: string, change: Partial<EnvironmentActivity> = {}): EnvironmentActivity {
  return { environment: name, status: "active", last_day: {}, last_week: {}, newest_failure: null, agents: 0, ...change };
}

const FAILED_RUN = {
  id: "R9x",
  environment: "staging",
  repository: "etl",
  target: "nightly",
  state: "failed" as const,
  created_at: NOW - 7200,
  completed_at: NOW - 3600,
};

const ACTIVITY: ProjectActivity = {
  project: "p1",
  at: NOW,
  environments: [
    env("production", { last_day: { succeeded: 40, queued: 2 }, last_week: { succeeded: 300 }, agents: 2 }),
    env("staging", {
      last_day: { succeeded: 3, failed: 2, abandoned: 1 },
      last_week: { failed: 5, succeeded: 9 },
      newest_failure: FAILED_RUN,
      agents: 1,
    }),
    env("old", { status: "paused" }),
  ],
};

const badges = (element: Element) =>
  [...element.querySelectorAll(".activity-count")].map((b) => `${b.getAttribute("data-state")}:${b.getAttribute("data-count")}`);

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("activity model", () => {
  it("orders counts failures first, leaves out zeros, keeps an unknown state last", () => {
    expect(orderedCounts({ succeeded: 4, queued: 0, failed: 1, assigned: 2, someday: 3, abandoned: 5 })).toEqual([
      ["failed", 1],
      ["abandoned", 5],
      ["assigned", 2],
      ["succeeded", 4],
      ["someday", 3],
    ]);
    expect(orderedCounts({})).toEqual([]);
  });

  it("puts the environments with the most recent failures first, else keeps their order", () => {
    const order = failuresFirst([
      env("a"),
      env("b", { last_week: { failed: 1 } }),
      env("c", { last_day: { timed_out: 1 } }),
      env("d", { last_day: { failed: 3 } }),
      env("e"),
    ]).map((e) => e.environment);
    expect(order).toEqual(["d", "c", "b", "a", "e"]);
  });

  it("says how long ago, roughly", () => {
    expect(timeAgo(NOW - 5, NOW)).toBe("just now");
    expect(timeAgo(NOW - 300, NOW)).toBe("5 min ago");
    expect(timeAgo(NOW - 3 * 3600, NOW)).toBe("3 h ago");
    expect(timeAgo(NOW - 3 * 86400, NOW)).toBe("3 d ago");
  });
});

describe("CompactActivity", () => {
  it("shows each environment's day, failures first, agents, and a link to the newest failure", () => {
    const root = mount(<CompactActivity project="demo" activity={ACTIVITY} />);
    const lines = [...root.querySelectorAll("li")];
    expect(lines.map((l) => l.getAttribute("data-environment"))).toEqual(["staging", "production", "old"]);
    const [staging, production, old] = lines as unknown as [HTMLElement, HTMLElement, HTMLElement];
    expect(badges(staging)).toEqual(["failed:2", "abandoned:1", "succeeded:3"]);
    expect(staging.classList.contains("activity-failing")).toBe(true);
    expect(staging.querySelector(".activity-failure")?.getAttribute("data-state")).toBe("failed");
    expect(staging.textContent).toContain("1 agent");
    const link = staging.querySelector<HTMLAnchorElement>("a.newest-failure")!;
    expect(link.getAttribute("href")).toBe("/projects/demo/environments/staging/runs/R9x");
    expect(link.textContent).toBe("Newest failure: nightly · 1 h ago");

    expect(badges(production)).toEqual(["queued:2", "succeeded:40"]);
    expect(production.classList.contains("activity-failing")).toBe(false);
    expect(production.textContent).toContain("2 agents");
    expect(production.textContent).toContain("no failures");
    expect(production.querySelector("a.newest-failure")).toBeNull();
    expect(old.textContent).toContain("paused");
    expect(old.textContent).toContain("no runs");
    expect(old.textContent).toContain("no agents");
  });
});

describe("ActivityTable", () => {
  it("shows both windows for each environment", () => {
    const root = mount(<ActivityTable project="demo" activity={ACTIVITY} />);
    const row = root.querySelector('tr[data-environment="staging"]')!;
    const [, day, week] = [...row.querySelectorAll("td")];
    expect(badges(day!)).toEqual(["failed:2", "abandoned:1", "succeeded:3"]);
    expect(day!.textContent).toContain("6 runs");
    expect(badges(week!)).toEqual(["failed:5", "succeeded:9"]);
    expect(root.querySelector('tr[data-environment="production"] a.newest-failure')).toBeNull();
  });
});

function fakeLive(): { live: ProjectLive; send(facts: Fact[]): void } {
  const listeners = new Set<(facts: Fact[]) => void>();
  const state = new Observable<ProjectState>({ envs: null, status: "live", error: null, generation: 1 });
  const live = {
    project: "demo",
    state,
    onFactsListen(listener: (facts: Fact[]) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as ProjectLive;
  return { live, send: (facts) => listeners.forEach((l) => l(facts)) };
}

function Probe({ live }: { live: ProjectLive }) {
  const activity = useLiveActivity(live, 60_000);
  return <span id="agents">{activity.data?.environments[0]?.agents ?? "none"}</span>;
}

/** Let `ms` of fake time pass, and what it set off render. */
async function pass(ms: number): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe("useLiveActivity", () => {
  it("fetches again a moment after a fact that changes the activity, not after others", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let agents = 0;
    const fetch = vi.fn(async (url: string) => {
      expect(url).toBe("/api/projects/demo/activity");
      return new Response(JSON.stringify({ ...ACTIVITY, environments: [env("production", { agents: agents++ })] }));
    });
    vi.stubGlobal("fetch", fetch);
    const { live, send } = fakeLive();
    const root = mount(<Probe live={live} />);
    await pass(0);
    expect(root.textContent).toBe("0");
    send([{ fact: "logs", run_id: "R1" } as unknown as Fact]);
    await pass(2000);
    expect(fetch).toHaveBeenCalledTimes(1);
    const transition = { fact: "transition", execution_id: "R1:1:1", run_id: "R1", state: "failed", session_id: null, at: NOW };
    send([transition as Fact]);
    send([transition as Fact]); // a second batch before the fetch: still one fetch
    await pass(500);
    expect(fetch).toHaveBeenCalledTimes(1);
    await pass(600);
    expect(fetch).toHaveBeenCalledTimes(2);
    await pass(0);
    expect(root.textContent).toBe("1");
  });
});
