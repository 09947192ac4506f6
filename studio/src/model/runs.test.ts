import { describe, expect, it } from "vitest";
import type { RunSummary } from "../api/types";
import { applyRunFacts } from "./runs";

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
});
