/**
 * The run model: a run's steps and executions, built from a `RunView` snapshot
 * and kept current by applying facts (the live deltas).
 *
 * The model is mutated in place (a 5,000-step run must not be copied on every
 * fact) and carries two counters for renderers: `version` changes on any change,
 * `structure` only when steps are added, so the graph layout is recomputed only
 * then. Applying a fact twice changes nothing: the live topic may repeat facts
 * across a snapshot.
 */

import type {
  ExecutionState,
  ExecutionView,
  Fact,
  LogEntry,
  Outcome,
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

/** Resolves an environment id (facts) to its name (views). */
export type EnvironmentNames = (environmentId: string) => string;

/** Apply facts about any run; those about other runs are ignored. */
export function applyFacts(model: RunModel, facts: Fact[], environmentName: EnvironmentNames): Applied {
  const applied: Applied = { changed: false, structural: false, logs: [] };
  for (const fact of facts) {
    switch (fact.fact) {
      case "step": {
        if (fact.run_id !== model.id || model.steps.has(fact.step_id)) break;
        addStep(model, {
          id: fact.step_id,
          number: fact.number,
          repository: fact.repository,
          target: fact.target,
          type: fact.type,
          parentExecution: fact.parent_execution_id,
          parentStep: fact.parent_execution_id ? stepIdOf(fact.parent_execution_id) : null,
          callIndex: fact.call_index,
          arguments: fact.arguments,
          createdAt: fact.at,
          executions: [],
          options: fact.options,
          dependencies: dependenciesOf(model.id, fact.step_id, fact.arguments),
          group: fact.group ?? null,
        });
        applied.changed = applied.structural = true;
        break;
      }
      case "execution": {
        if (fact.run_id !== model.id || model.executions.has(fact.execution_id)) break;
        const step = model.steps.get(fact.step_id);
        if (!step) break;
        const execution: Execution = {
          id: fact.execution_id,
          stepId: fact.step_id,
          attempt: fact.attempt,
          state: "queued",
          environment: environmentName(fact.environment_id),
          createdAt: fact.at,
          assignedAt: null,
          completedAt: null,
          sessionId: null,
          outcome: null,
          transitions: [],
          successor: null,
        };
        step.executions.push(execution);
        step.executions.sort((a, b) => a.attempt - b.attempt);
        model.executions.set(execution.id, execution);
        applied.changed = true;
        break;
      }
      case "transition": {
        const execution = fact.run_id === model.id ? model.executions.get(fact.execution_id) : undefined;
        if (!execution) break;
        if (execution.transitions.some((t) => t.state === fact.state && t.at === fact.at)) break;
        execution.transitions.push({ state: fact.state, at: fact.at, session_id: fact.session_id });
        execution.state = fact.state;
        if (fact.state !== "queued") execution.queuedReason = null;
        if (fact.state === "assigned") {
          execution.assignedAt = fact.at;
          execution.sessionId = fact.session_id;
        } else if (!isActive(fact.state)) {
          execution.completedAt = fact.at;
        }
        applied.changed = true;
        break;
      }
      case "link": {
        // A stand-in is linked when it is made: spawned, cached, or replaced (deferred).
        const execution = fact.run_id === model.id ? model.executions.get(fact.execution_id) : undefined;
        if (!execution || execution.successor === fact.leader_id) break;
        execution.successor = fact.leader_id;
        applied.changed = true;
        break;
      }
      case "outcome": {
        const execution = fact.run_id === model.id ? model.executions.get(fact.execution_id) : undefined;
        if (!execution || execution.outcome) break;
        execution.outcome = fact.outcome;
        applied.changed = true;
        break;
      }
      case "logs":
        fact.entries.forEach((entry, i) => {
          if (fact.run_ids[i] === model.id) applied.logs.push(entry);
        });
        break;
      default:
        break;
    }
  }
  if (applied.changed) model.version++;
  if (applied.structural) model.structure++;
  return applied;
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
