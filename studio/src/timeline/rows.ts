/**
 * The timeline's rows and the classes of their bars. The legend draws each state
 * with `barClass` too, so a swatch and a bar of the same state cannot differ in
 * colour: both take it from the `state-<name>` class (`--state`) and the same
 * `bar-<phase>` fill.
 */

import type { Execution, RunModel } from "../model/run";

/** The two parts of a bar: the time waiting in the queue (hatched), the time running (solid). */
export type Phase = "queued" | "running";

/**
 * Every execution of the run, by step number and then attempt. Numbers compare as
 * numbers (step #2 before #10), not as the text of their ids, and an execution
 * whose step is unknown goes last.
 */
export function timelineRows(model: RunModel): Execution[] {
  const number = (execution: Execution) => model.steps.get(execution.stepId)?.number ?? Number.MAX_SAFE_INTEGER;
  return [...model.executions.values()].sort((a, b) => number(a) - number(b) || a.attempt - b.attempt);
}

/** The classes of a bar's `phase` in `state`'s colour (null: no state's colour, for the phase key). */
export function barClass(phase: Phase, state: string | null): string {
  return `bar bar-${phase}${state === null ? "" : ` state-${state}`}`;
}
