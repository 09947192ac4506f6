/**
 * Lists of run summaries (a workflow's runs, an environment's recent runs), kept
 * current by applying facts: a new run is prepended when it matches the list's
 * filter, and a change to a run's first step updates that run's state.
 */

import type { Fact, RunSummary } from "../api/types";
import { isActive } from "./states";

export interface RunListFilter {
  environment?: string;
  repository?: string;
  target?: string;
}

/** A new list if any fact changed it, else the same list. */
export function applyRunFacts(
  runs: RunSummary[],
  facts: Fact[],
  environmentName: (id: string) => string,
  filter: RunListFilter,
  limit = 100,
): RunSummary[] {
  let out = runs;
  const copy = () => {
    if (out === runs) out = [...runs];
    return out;
  };
  for (const fact of facts) {
    if (fact.fact === "run") {
      const environment = environmentName(fact.environment_id);
      if (filter.environment !== undefined && filter.environment !== environment) continue;
      if (filter.repository !== undefined && filter.repository !== fact.repository) continue;
      if (filter.target !== undefined && filter.target !== fact.target) continue;
      if (out.some((r) => r.id === fact.run_id)) continue;
      copy().unshift({
        id: fact.run_id,
        environment,
        repository: fact.repository,
        target: fact.target,
        state: "queued",
        created_at: fact.at,
        completed_at: null,
      });
      if (out.length > limit) out.length = limit;
    } else if (fact.fact === "transition") {
      // Only the first step's executions ("RUN:1:N") decide a run's state.
      const [runId, step] = fact.execution_id.split(":");
      if (step !== "1") continue;
      const index = out.findIndex((r) => r.id === runId);
      if (index < 0) continue;
      const run = out[index] as RunSummary;
      copy()[index] = {
        ...run,
        state: fact.state,
        completed_at: isActive(fact.state) ? null : fact.at,
      };
    }
  }
  return out;
}
