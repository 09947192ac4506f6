/** Builders of API shapes for tests. */

import type { ExecutionState, ExecutionView, RunView, StepGroup, StepView, Value } from "../api/types";
import { buildExecutionId, buildStepId, rootExecutionId } from "../model/ids";

export const RUN = "run1";

export function value(data: unknown, executions: string[] = []): Value {
  return executions.length ? { format: "json", data, executions } : { format: "json", data };
}

export function execution(stepId: string, attempt = 1, state: ExecutionState = "succeeded", at = 100): ExecutionView {
  return {
    id: buildExecutionId(stepId, attempt),
    attempt,
    state,
    environment: "production",
    created_at: at,
    assigned_at: state === "queued" ? null : at + 0.1,
    completed_at: state === "queued" || state === "assigned" ? null : at + 1,
    session_id: state === "queued" ? null : "session1",
    outcome: state === "succeeded" ? { tag: "succeeded", value: value(1) } : null,
    transitions: [{ state: "queued", at }],
  };
}

export function step(number: number, target: string, parent: string | null, args: Value[] = [], state: ExecutionState = "succeeded"): StepView {
  const id = buildStepId(RUN, number);
  return {
    id,
    number,
    repository: "flows",
    target,
    type: parent === null ? "workflow" : "task",
    parent_execution: parent,
    call_index: parent === null ? null : number - 2,
    arguments: args,
    created_at: 100 + number,
    executions: [execution(id, 1, state, 100 + number)],
  };
}

export function run(steps: StepView[]): RunView {
  return {
    id: RUN,
    environment: "production",
    repository: "flows",
    target: "main",
    state: steps[0]?.executions[0]?.state ?? "queued",
    idempotency_key: null,
    created_at: 100,
    completed_at: null,
    steps,
  };
}

/** A workflow step 1 calling `count` children of `target`. */
export function fanOut(count: number, target = "square"): RunView {
  const steps = [step(1, "main", null)];
  for (let i = 0; i < count; i++) steps.push(step(i + 2, target, rootExecutionId(RUN), [value(i)]));
  return run(steps);
}

/** `view`, called inside a `cf.group` (index `index` of its calling execution). */
export function inGroup(view: StepView, index: number, name: string | null): StepView {
  const group: StepGroup = name === null ? { index } : { index, name };
  return { ...view, group };
}

/** A workflow step 1 calling `target` once for each state in `states`, all in one `cf.group`. */
export function groupRun(states: ExecutionState[], name: string | null = "chapters", target = "square"): RunView {
  const steps = [step(1, "main", null)];
  states.forEach((state, i) => steps.push(inGroup(step(i + 2, target, rootExecutionId(RUN), [value(i)], state), 0, name)));
  return run(steps);
}
