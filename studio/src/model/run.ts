/**
 * The run model: a run's steps and executions, built from a `RunView` snapshot
 * and kept current by applying the run topic's deltas (`coflux/views.py`
 * `RunDelta`: changes in the view's own terms, made from the facts by the server).
 *
 * The model is mutated in place (a 5,000-step run must not be copied on every
 * fact) and carries two counters for renderers: `version` changes on any change,
 * `structure` only when steps are added, so the graph layout is recomputed only
 * then. Applying a delta twice changes nothing: the live topic may repeat changes
 * across a snapshot.
 */

import type {
  ExecutionState,
  ExecutionChanged,
  ExecutionView,
  LogEntry,
  Outcome,
  RunDelta,
  RunView,
  StepGroup,
  StepView,
  TargetOptions,
  TargetType,
  TransitionView,
  Value,
} from "../api/types";
import { runIdOf, stepIdOf } from "./ids";
import { isActive } from "./states";

export interface Execution {
  id: string;
  stepId: string;
  attempt: number;
  state: ExecutionState;
  environment: string;
  createdAt: number;
  assignedAt: number | null;
  completedAt: number | null;
  sessionId: string | null;
  outcome: Outcome | null;
  transitions: TransitionView[];
  /** Why it is still queued (from the snapshot; cleared once it leaves the queue). */
  queuedReason?: string | null;
  /** For a stand-in (spawned, cached, deferred), the execution whose outcome it
   * takes (from the snapshot or a `link` fact); null for every other one. */
  successor: string | null;
}

export interface Step {
  id: string;
  number: number;
  repository: string;
  target: string;
  type: TargetType;
  parentExecution: string | null;
  parentStep: string | null;
  callIndex: number | null;
  arguments: Value[];
  createdAt: number;
  executions: Execution[];
  options: TargetOptions | null;
  /** Steps of this run whose results this step's arguments refer to. */
  dependencies: string[];
  /** The `cf.group` its caller made it in (with `parentExecution`, it names the group). */
  group: StepGroup | null;
}

export interface RunModel {
  id: string;
  environment: string;
  repository: string;
  target: string;
  idempotencyKey: string | null;
  createdAt: number;
  /** The execution (of another run) that spawned this run; null: submitted. */
  spawnedBy: string | null;
  steps: Map<string, Step>;
  /** Steps by number. */
  order: Step[];
  executions: Map<string, Execution>;
  /** Child steps of each step (called from any of its executions), by number. */
  children: Map<string, Step[]>;
  version: number;
  structure: number;
}

export function latest(step: Step): Execution | undefined {
  return step.executions[step.executions.length - 1];
}

/** The state a step shows: its latest execution's. */
export function stepState(step: Step): ExecutionState {
  return latest(step)?.state ?? "queued";
}

function dependenciesOf(runId: string, stepId: string, args: Value[]): string[] {
  const out = new Set<string>();
  for (const value of args) {
    for (const executionId of value.executions ?? []) {
      const source = stepIdOf(executionId);
      if (runIdOf(source) === runId && source !== stepId) out.add(source);
    }
  }
  return [...out];
}

function executionFromView(stepId: string, view: ExecutionView): Execution {
  return {
    id: view.id,
    stepId,
    attempt: view.attempt,
    state: view.state,
    environment: view.environment,
    createdAt: view.created_at,
    assignedAt: view.assigned_at,
    completedAt: view.completed_at,
    sessionId: view.session_id,
    outcome: view.outcome,
    transitions: [...view.transitions],
    queuedReason: view.queued_reason ?? null,
    successor: view.successor ?? null,
  };
}

function insertByNumber(list: Step[], step: Step): void {
  // Steps almost always arrive in order, so look from the end.
  let i = list.length;
  while (i > 0 && (list[i - 1] as Step).number > step.number) i--;
  list.splice(i, 0, step);
}

function addStep(model: RunModel, step: Step): void {
  model.steps.set(step.id, step);
  insertByNumber(model.order, step);
  if (step.parentStep !== null) {
    let siblings = model.children.get(step.parentStep);
    if (!siblings) model.children.set(step.parentStep, (siblings = []));
    insertByNumber(siblings, step);
  }
  for (const execution of step.executions) model.executions.set(execution.id, execution);
}

function stepFromView(runId: string, view: StepView): Step {
  const step: Step = {
    id: view.id,
    number: view.number,
    repository: view.repository,
    target: view.target,
    type: view.type,
    parentExecution: view.parent_execution,
    parentStep: view.parent_execution ? stepIdOf(view.parent_execution) : null,
    callIndex: view.call_index,
    arguments: view.arguments,
    createdAt: view.created_at,
    executions: [],
    options: view.options ?? null,
    dependencies: dependenciesOf(runId, view.id, view.arguments),
    group: view.group ?? null,
  };
  step.executions = view.executions.map((e) => executionFromView(view.id, e));
  return step;
}

export function fromSnapshot(view: RunView): RunModel {
  const model: RunModel = {
    id: view.id,
    environment: view.environment,
    repository: view.repository,
    target: view.target,
    idempotencyKey: view.idempotency_key,
    createdAt: view.created_at,
    spawnedBy: view.spawned_by ?? null,
    steps: new Map(),
    order: [],
    executions: new Map(),
    children: new Map(),
    version: 0,
    structure: 0,
  };
  for (const stepView of view.steps) addStep(model, stepFromView(view.id, stepView));
  return model;
}

export function rootStep(model: RunModel): Step | undefined {
  return model.order[0];
}

export function runState(model: RunModel): ExecutionState {
  const root = rootStep(model);
  return root ? stepState(root) : "queued";
}

/** When the run ended (its first step's latest execution), or null while it runs. */
export function runCompletedAt(model: RunModel): number | null {
  const root = rootStep(model);
  const execution = root && latest(root);
  if (!execution || isActive(execution.state)) return null;
  return execution.completedAt ?? execution.transitions[execution.transitions.length - 1]?.at ?? null;
}

export function hasActiveExecutions(model: RunModel): boolean {
  for (const execution of model.executions.values()) if (isActive(execution.state)) return true;
  return false;
}

export interface Applied {
  changed: boolean;
  structural: boolean;
  logs: LogEntry[];
}

/** Apply the run topic's deltas. */
export function applyDeltas(model: RunModel, deltas: RunDelta[]): Applied {
  const applied: Applied = { changed: false, structural: false, logs: [] };
  for (const delta of deltas) {
    switch (delta.delta) {
      case "step_added": {
        if (model.steps.has(delta.step.id)) break;
        addStep(model, stepFromView(model.id, delta.step));
        applied.changed = applied.structural = true;
        break;
      }
      case "execution_added": {
        const step = model.steps.get(delta.step_id);
        if (!step || model.executions.has(delta.execution.id)) break;
        const execution = executionFromView(step.id, delta.execution);
        step.executions.push(execution);
        step.executions.sort((a, b) => a.attempt - b.attempt);
        model.executions.set(execution.id, execution);
        applied.changed = true;
        break;
      }
      case "execution_changed": {
        const execution = model.executions.get(delta.execution_id);
        if (execution && changeExecution(execution, delta)) applied.changed = true;
        break;
      }
      case "logs_added":
        applied.logs.push(...delta.entries);
        break;
    }
  }
  if (applied.changed) model.version++;
  if (applied.structural) model.structure++;
  return applied;
}

/** Set the fields a change names; false if it changes nothing (a repeat). */
function changeExecution(execution: Execution, change: ExecutionChanged): boolean {
  const { transition } = change;
  if (transition) {
    // A transition the model holds is a repeat: its fields are older than the model's.
    if (execution.transitions.some((t) => t.state === transition.state && t.at === transition.at)) return false;
    execution.transitions.push(transition);
  }
  let changed = transition !== undefined;
  if (change.state !== undefined) {
    execution.state = change.state;
    if (change.state !== "queued") execution.queuedReason = null;
  }
  if (change.assigned_at !== undefined) execution.assignedAt = change.assigned_at;
  if (change.completed_at !== undefined) execution.completedAt = change.completed_at;
  if (change.session_id !== undefined) execution.sessionId = change.session_id;
  if (change.outcome !== undefined && !execution.outcome) {
    execution.outcome = change.outcome;
    changed = true;
  }
  if (change.successor !== undefined && execution.successor !== change.successor) {
    execution.successor = change.successor;
    changed = true;
  }
  return changed;
}

export interface StepCounts {
  total: number;
  active: number;
  failed: number;
  timedOut: number;
}

export function countSteps(model: RunModel): StepCounts {
  let active = 0;
  let failed = 0;
  let timedOut = 0;
  for (const step of model.order) {
    const state = stepState(step);
    if (isActive(state)) active++;
    else if (state === "failed" || state === "abandoned") failed++;
    else if (state === "timed_out") timedOut++;
  }
  return { total: model.order.length, active, failed, timedOut };
}
