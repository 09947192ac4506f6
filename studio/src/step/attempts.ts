/**
 * Which attempt of a step the panel shows, and where an execution's links lead:
 * every execution of a step is an attempt (retries and re-runs add one), and a
 * stand-in (spawned, cached, deferred) names the execution whose outcome it takes
 * (`successor`), in this run or another.
 */

import { attemptOf, runIdOf, stepNumberOf } from "../model/ids";
import { type Execution, latest, type Step } from "../model/run";
import type { Route } from "../router";

/** The attempt `attempt` of the step, or its latest when absent or unknown (a link
 * to an attempt that does not exist yet opens the step as it is). */
export function chosenExecution(step: Step, attempt: number | null | undefined): Execution | undefined {
  return (attempt ? step.executions.find((e) => e.attempt === attempt) : undefined) ?? latest(step);
}

/** Where a run's pages are: the project and the environment its links keep. */
export interface RunPlace {
  project: string;
  environment: string;
}

/** The page of an execution: its run, with its step open at that attempt. An
 * execution of another run is linked in this run's environment (its run's page
 * reads the run's own environment from the run; a cached result can come from
 * a base environment, which the id does not name). */
export function executionRoute(place: RunPlace, executionId: string): Route {
  return {
    page: "run",
    ...place,
    run: runIdOf(executionId),
    step: stepNumberOf(executionId),
    view: "graph",
    attempt: attemptOf(executionId),
  };
}

export type StandIn =
  | { kind: "spawned"; runId: string; to: Route }
  | { kind: "cached"; executionId: string; to: Route }
  | { kind: "deferred"; executionId: string; to: Route };

/** What a stand-in execution links to, or null for one that stands in for none. */
export function standIn(place: RunPlace, execution: Execution): StandIn | null {
  const leader = execution.successor;
  if (!leader) return null;
  switch (execution.state) {
    case "spawned": {
      const runId = runIdOf(leader);
      return { kind: "spawned", runId, to: { page: "run", ...place, run: runId, step: null, view: "graph" } };
    }
    case "cached":
      return { kind: "cached", executionId: leader, to: executionRoute(place, leader) };
    case "deferred":
      return { kind: "deferred", executionId: leader, to: executionRoute(place, leader) };
    default:
      return null;
  }
}
