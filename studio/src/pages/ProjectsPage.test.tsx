// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ProjectActivity, ProjectInfo } from "../api/types";
import { flush, mount } from "../test/mount";
import { ProjectsPage } from "./ProjectsPage";

const QUIET: ProjectActivity = { project: "", at: 1700000000, environments: [] };
let asked: string[] = [];

/** The projects, and each one's activity (`activity`, else none: a quiet project). */
function serve(projects: ProjectInfo[], activity: Record<string, ProjectActivity> = {}) {
  asked = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      asked.push(url);
      const found = /^\/api\/projects\/([^/]+)\/activity$/.exec(url);
      const body = found ? (activity[decodeURIComponent(found[1]!)] ?? QUIET) : projects;
      return new Response(JSON.stringify(body), { status: 200 });
    }),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("ProjectsPage", () => {
  it("shows an unavailable project as such, with the reason, and no link into it", async () => {
    serve([
      { id: "p1", name: "demo", created_at: 1700000000, status: "ok", error: null },
      {
        id: "junk",
        name: "junk",
        created_at: 1700000100,
        status: "unavailable",
        error: "its database junk.sqlite could not be opened (file is not a database)",
      },
      { id: "p2", name: "old", created_at: 1700000200 }, // an older server: no status
    ]);
    const root = mount(<ProjectsPage />);
    await flush();
    await flush();
    const row = (id: string) => root.querySelector(`tr[data-project="${id}"]`)!;
    expect(row("junk").getAttribute("data-status")).toBe("unavailable");
    expect(row("junk").textContent).toContain("unavailable");
    expect(row("junk").textContent).toContain("junk.sqlite could not be opened (file is not a database)");
    expect(row("junk").querySelector("a")).toBeNull();
    for (const id of ["p1", "p2"]) {
      expect(row(id).getAttribute("data-status")).toBe("ok");
      expect(row(id).querySelector("a")?.getAttribute("href")).toContain("/projects/");
      expect(row(id).textContent).not.toContain("unavailable");
    }
  });

  it("shows each project's environments' activity, with one click to the newest failure", async () => {
    const failed = {
      id: "R42",
      environment: "production",
      repository: "etl",
      target: "nightly",
      state: "failed" as const,
      created_at: 1699999000,
      completed_at: 1699999100,
    };
    serve(
      [
        { id: "p1", name: "demo", created_at: 1700000000, status: "ok", error: null },
        { id: "junk", name: "junk", created_at: 1700000100, status: "unavailable", error: "broken" },
      ],
      {
        demo: {
          project: "p1",
          at: 1700000000,
          environments: [
            { environment: "staging", status: "active", last_day: { succeeded: 4 }, last_week: { succeeded: 9 }, newest_failure: null, agents: 0 },
            { environment: "production", status: "active", last_day: { succeeded: 1, failed: 2 }, last_week: { failed: 2, succeeded: 1 }, newest_failure: failed, agents: 3 },
          ],
        },
      },
    );
    const root = mount(<ProjectsPage />);
    await flush();
    await flush();
    await flush();
    // No activity is asked of a project that cannot be opened.
    expect(asked.filter((url) => url.endsWith("/activity"))).toEqual(["/api/projects/demo/activity"]);
    const activity = root.querySelector('tr[data-project="p1"] [data-activity="p1"]')!;
    const lines = [...activity.querySelectorAll("li")];
    expect(lines.map((l) => l.getAttribute("data-environment"))).toEqual(["production", "staging"]);
    const states = [...lines[0]!.querySelectorAll(".activity-count")].map((b) => b.getAttribute("data-state"));
    expect(states).toEqual(["failed", "succeeded"]);
    expect(lines[0]!.textContent).toContain("3 agents");
    const link = lines[0]!.querySelector<HTMLAnchorElement>("a.newest-failure")!;
    expect(link.getAttribute("href")).toBe("/projects/demo/environments/production/runs/R42");
    link.click();
    expect(location.pathname).toBe("/projects/demo/environments/production/runs/R42");
    expect(root.querySelector('[data-activity="junk"]')).toBeNull();
    expect(root.querySelectorAll("tbody tr")).toHaveLength(2); // a row a project, as before
  });

  it("shows no activity, and no error, from a server without the activity route", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) =>
        url.endsWith("/activity")
          ? new Response(JSON.stringify({ error: { reason: "not_found", message: "no such endpoint" } }), { status: 404 })
          : new Response(JSON.stringify([{ id: "p1", name: "demo", created_at: 1700000000 }]), { status: 200 }),
      ),
    );
    const root = mount(<ProjectsPage />);
    await flush();
    await flush();
    await flush();
    const cell = root.querySelector('[data-activity="p1"]')!;
    expect(cell.textContent).toBe("");
  });
});
