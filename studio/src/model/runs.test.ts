import { describe, expect, it } from "vitest";
import type { RunSummary } from "../api/types";
import { applyRunFacts, filtersQuery, hasFilters, NO_FILTERS, parseFilters, type RunFilters, runsQuery } from "./runs";

const names = (id: string) => (id === "e1" ? "production" : "staging");
const existing: RunSummary = { id: "r1", environment: "production", repository: "flows", target: "fan_out", state: "assigned", created_at: 1, completed_at: null };

describe("run lists", () => {
  it("prepends new runs that match the filter", () => {
    const runs = applyRunFacts(
      [existing],
      [
        { fact: "run", run_id: "r2", environment_id: "e1", repository: "flows", target: "fan_out", idempotency_key: null, at: 5 },
        { fact: "run", run_id: "r3", environment_id: "e2", repository: "flows", target: "fan_out", idempotency_key: null, at: 6 },
        { fact: "run", run_id: "r4", environment_id: "e1", repository: "flows", target: "other", idempotency_key: null, at: 7 },
      ],
      names,
      { environment: "production", repository: "flows", target: "fan_out" },
    );
    expect(runs.map((r) => r.id)).toEqual(["r2", "r1"]);
  });

  it("updates a run's state from its first step only", () => {
    const runs = applyRunFacts(
      [existing],
      [
        { fact: "transition", execution_id: "r1:2:1", run_id: "r1", state: "failed", session_id: null, at: 8 },
        { fact: "transition", execution_id: "r1:1:1", run_id: "r1", state: "succeeded", session_id: null, at: 9 },
      ],
      names,
      {},
    );
    expect(runs[0]).toMatchObject({ state: "succeeded", completed_at: 9 });
  });

  it("returns the same list when nothing changed", () => {
    const list = [existing];
    expect(applyRunFacts(list, [{ fact: "logs", entries: [], run_ids: [] }], names, {})).toBe(list);
  });

  const fact = { fact: "run", run_id: "r9", environment_id: "e1", repository: "flows", target: "fan_out", idempotency_key: null, at: 9 } as const;

  it("prepends a new run only where the filters could show it", () => {
    const shows = (filters: Partial<RunFilters>) =>
      applyRunFacts([existing], [fact], names, { environment: "production", filters: { ...NO_FILTERS, ...filters } }).length === 2;
    expect(shows({})).toBe(true);
    expect(shows({ states: ["queued", "failed"] })).toBe(true);
    expect(shows({ workflow: { repository: "flows", target: "fan_out" } })).toBe(true);
    expect(shows({ since: 5 })).toBe(true);
    // A new run is queued, at the newest end, and its arguments and key are not in the fact.
    expect(shows({ states: ["failed"] })).toBe(false);
    expect(shows({ workflow: { repository: "flows", target: "other" } })).toBe(false);
    expect(shows({ oldest: true })).toBe(false);
    expect(shows({ search: "order-7" })).toBe(false);
    expect(shows({ key: "k" })).toBe(false);
    expect(shows({ until: 100 })).toBe(false);
  });

  it("builds the API's query from a list and its filters", () => {
    const filters: RunFilters = { states: ["failed", "cancelled"], workflow: null, since: 10, until: 20.5, key: "k", search: "Ada", oldest: true };
    const query = runsQuery({ environment: "production", repository: "flows", target: "main", filters }, 50, "CURSOR");
    expect(query.toString()).toBe(
      "environment=production&repository=flows&target=main&state=failed&state=cancelled&since=10&until=20.5&idempotency_key=k&search=Ada&order=oldest&after=CURSOR&limit=50",
    );
    const chosen = runsQuery({ environment: "e", filters: { ...NO_FILTERS, workflow: { repository: "a.b", target: "c" } } }, 10, null);
    expect(chosen.toString()).toBe("environment=e&repository=a.b&target=c&limit=10");
  });

  it("round-trips filters through the page's URL", () => {
    const filters: RunFilters = { states: ["queued"], workflow: { repository: "a.b", target: "c" }, since: 1, until: null, key: null, search: "x y z", oldest: false };
    expect(parseFilters(new URLSearchParams(filtersQuery(filters)))).toEqual(filters);
    expect(filtersQuery(NO_FILTERS)).toBe("");
    expect(hasFilters({ ...NO_FILTERS, oldest: true })).toBe(false);
    expect(hasFilters({ ...NO_FILTERS, key: "k" })).toBe(true);
  });
});
