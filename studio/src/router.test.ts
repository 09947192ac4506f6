import { describe, expect, it } from "vitest";
import { href, parseRoute, type Route } from "./router";

const routes: Route[] = [
  { page: "projects" },
  { page: "project", project: "demo" },
  { page: "environment", project: "demo", environment: "dev alice" },
  { page: "target", project: "demo", environment: "production", kind: "workflow", repository: "pkg.flows", target: "fan_out" },
  { page: "target", project: "demo", environment: "production", kind: "sensor", repository: "s", target: "watch" },
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
});
