/**
 * Finding the steps in one state in a run graph of any size: how many steps are in
 * each state (the chips above the graph), and the step in that state after or before
 * the one selected, so a user can go through the 8 failures of a fan-out of 1,000
 * one by one instead of looking for them.
 */

import type { ExecutionState } from "../api/types";
import { tally } from "../model/groups";
import { type RunModel, type Step, stepState } from "../model/run";

/** Every state a step of the run is in, with its count, most interesting first. */
export function stateCounts(model: RunModel): Array<[ExecutionState, number]> {
  return tally(model.order) as Array<[ExecutionState, number]>;
}

/** The steps in `state`, by number. */
export function stepsInState(model: RunModel, state: ExecutionState): Step[] {
  return model.order.filter((step) => stepState(step) === state);
}

/**
 * The step in `state` after (`direction` 1) or before (-1) the step `from` by
 * number, wrapping round; with no `from` (or one not in the run), the first or the
 * last. Null when no step is in `state`.
 */
export function cycleInState(model: RunModel, state: ExecutionState, from: string | null, direction: 1 | -1): Step | null {
  const steps = stepsInState(model, state);
  if (steps.length === 0) return null;
  const at = from !== null ? model.steps.get(from)?.number : undefined;
  if (at === undefined) return (direction === 1 ? steps[0] : steps[steps.length - 1]) ?? null;
  if (direction === 1) return steps.find((step) => step.number > at) ?? steps[0] ?? null;
  return steps.findLast((step) => step.number < at) ?? steps[steps.length - 1] ?? null;
}
