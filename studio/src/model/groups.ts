/**
 * `cf.group`s: the calls one execution made inside one `with cf.group(...)` block.
 * A group is named by its calling execution and its number there, so the groups of a
 * retried caller are new groups; it is labelled with its name, or "Group" without one.
 * The graph shows one member of a group at a time; these are the pure parts of that.
 */

import { formatCount } from "./format";
import { type RunModel, type Step, stepState } from "./run";
import { STATE_ORDER, stateInfo } from "./states";

/** The key of the group a step is in, or null when it is in none. */
export function groupKeyOf(step: Step): string | null {
  if (!step.group || step.parentExecution === null) return null;
  return `cf-group:${step.parentExecution}:${step.group.index}`;
}

export function groupLabel(step: Step): string {
  return step.group?.name || "Group";
}

function sameGroup(a: Step, b: Step): boolean {
  return a.group !== null && b.group !== null && a.parentExecution === b.parentExecution && a.group.index === b.group.index;
}

/** The members of the group `step` is in, by number (none when it is in no group). */
export function groupMembers(model: RunModel, step: Step): Step[] {
  if (!step.group || step.parentStep === null) return [];
  return (model.children.get(step.parentStep) ?? []).filter((sibling) => sameGroup(sibling, step));
}

/** How many steps are in each state, most interesting state first. */
export function tally(steps: Step[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const step of steps) {
    const state = stepState(step);
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  return STATE_ORDER.filter((s) => counts.has(s)).map((s) => [s, counts.get(s) as number]);
}

/** "12 steps · 2 failed · 1 timed out": the size, then every state but succeeded. */
export function groupSummary(members: Step[]): string {
  const parts = [`${formatCount(members.length)} ${members.length === 1 ? "step" : "steps"}`];
  for (const [state, n] of tally(members)) if (state !== "succeeded") parts.push(`${formatCount(n)} ${stateInfo(state).label}`);
  return parts.join(" · ");
}

/** The position of the next member after `from` (wrapping round) in `state`, or null. */
export function nextInState(members: Step[], from: number, state: string): number | null {
  for (let i = 1; i <= members.length; i++) {
    const at = (from + i) % members.length;
    if (stepState(members[at] as Step) === state) return at;
  }
  return null;
}

/**
 * The member each group must show for `stepId` to be drawn: the step itself if it is
 * in a group, and each ancestor of it that is, as `[group key, member id]` pairs.
 */
export function membersShowing(model: RunModel, stepId: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let step = model.steps.get(stepId);
  while (step) {
    const key = groupKeyOf(step);
    if (key) out.push([key, step.id]);
    step = step.parentStep !== null ? model.steps.get(step.parentStep) : undefined;
  }
  return out;
}
