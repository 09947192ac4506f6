import { describe, expect, it } from "vitest";
import { NO_FILTERS, type RunFilters } from "./model/runs";
import { href, parseRoute, type Route } from "./router";

const FILTERED: RunFilters = {
  states: ["failed", "timed_out"],
  workflow: { repository: "pkg.flows", target: "fan_out" },
  since: 1700000000,
  until: 1700086400.5,
  key: "nightly 2026/05/01",
  search: 'order "A-1" & 100%',
  oldest: true,
};

const routes: Route[] = [
  { page: "projects" },
  { page: "project", project: "demo" },
  { page: "environment", project: "demo", environment: "dev alice", runs: NO_FILTERS },
  { page: "environment", project: "demo", environment: "production", runs: FILTERED },
  { page: "target", project: "demo", environment: "production", kind: "workflow", repository: "pkg.flows", target: "fan_out", runs: NO_FILTERS },
  { page: "target", project: "demo", environment: "production", kind: "workflow", repository: "pkg.flows", target: "fan_out", runs: { ...FILTERED, workflow: null } },
  { page: "target", project: "demo", environment: "production", kind: "sensor", repository: "s", target: "watch", runs: NO_FILTERS },
  { page: "run", project: "demo", environment: "production", run: "abc", step: null, view: "graph" },
  { page: "run", project: "demo", environment: "production", run: "abc", step: 12, view: "logs" },
];

describe("deep links", () => {
  it.each(routes)("round-trips %o", (route) => {
    const url = new URL(href(route), "http://x");
    expect(parseRoute(url.pathname, url.search)).toEqual(route);
  });

  it("refuses what it does not know", () => {
    expect(parseRoute("/nope").page).toBe("missing");
    expect(parseRoute("/projects/p/environments/e/runs/r/steps/x").page).toBe("missing");
  });

  it("keeps a list's filters in the query, and an unfiltered list has none", () => {
    expect(href({ page: "environment", project: "p", environment: "e" })).toBe("/projects/p/environments/e");
    expect(href({ page: "environment", project: "p", environment: "e", runs: { ...NO_FILTERS, states: ["failed"], oldest: true } })).toBe(
      "/projects/p/environments/e?state=failed&order=oldest",
    );
    // A workflow's page names its workflow in its path, never in the query.
    const target = parseRoute("/projects/p/environments/e/workflows/r/t", "?workflow=x:y&state=queued");
    expect(target).toMatchObject({ page: "target", runs: { workflow: null, states: ["queued"] } });
  });

  it("leaves out what a hand-edited query gets wrong", () => {
    const route = parseRoute("/projects/p/environments/e", "?state=failed&state=nope&state=failed&since=yesterday&until=-5&q=ab&workflow=:x&order=up");
    expect(route).toEqual({ page: "environment", project: "p", environment: "e", runs: { ...NO_FILTERS, states: ["failed"] } });
  });
});
