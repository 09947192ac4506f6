/**
 * The shapes the server sends and accepts: generated from its msgspec schemas
 * (`generated.ts`, written by `scripts/studio-types`; `scripts/test` fails when it
 * is stale), so a change on the server shows up here as a type error, not as a
 * silently broken page.
 *
 * What is written by hand here is Studio's only:
 * - the names Studio's code uses where they differ from the server's (a fact is
 *   `StepFact` here, `StepCreated` there);
 * - narrower types for the fields `coflux/views.py` declares as `str` but fills
 *   with an enum's value (a state, a target type, a log level): the views depend on
 *   `coflux.protocol` only, and decode in older clients, so they keep `str`; Studio
 *   reads them as the enums the facts carry (`ExecutionState`, ...).
 */

import type * as G from "./generated";

export type {
  AgentView,
  AssetEntry,
  AuthView,
  ErrorDetail,
  ErrorInfo,
  ExecutionState,
  EnvironmentStatus,
  Fact,
  InputInfo,
  LogEntry,
  Manifest,
  MetricDefinition,
  MetricGroupInfo,
  MetricPointView,
  MetricScaleInfo,
  MetricView,
  Outcome,
  Parameter,
  ProjectInfo,
  RunAssets,
  TargetDefinition,
  TargetOptions,
  TokenView,
  Value,
} from "./generated";

type ExecutionState = G.ExecutionState;

export type TargetType = G.TargetDefinition["type"];
export type LogLevel = G.LogEntry["level"];

/** The `cf.group` a step was called in: numbered from 0 per calling execution. */
export type StepGroup = G.Group;

/** An asset and its files (`GET .../assets/ID`). */
export type AssetView = G.AssetInfo;

export type EnvironmentFact = G.EnvironmentRecorded;
export type MetricsFact = G.MetricsRecorded;

// --- views, with their enum-valued `str` fields narrowed ----------------------------

export interface EnvironmentView extends Omit<G.EnvironmentView, "status"> {
  status: G.EnvironmentStatus;
}

export interface TransitionView extends Omit<G.TransitionView, "state"> {
  state: ExecutionState;
}

export interface ExecutionView extends Omit<G.ExecutionView, "state" | "transitions"> {
  state: ExecutionState;
  transitions: TransitionView[];
}

export interface StepView extends Omit<G.StepView, "type" | "executions"> {
  type: TargetType;
  executions: ExecutionView[];
}

export interface RunSummary extends Omit<G.RunSummary, "state"> {
  state: ExecutionState;
}

export interface RunListed extends Omit<G.RunListed, "state"> {
  state: ExecutionState;
}

export interface RunView extends Omit<G.RunView, "state" | "steps"> {
  state: ExecutionState;
  steps: StepView[];
}

export interface ExecutionOutline extends Omit<G.ExecutionOutline, "state"> {
  state: ExecutionState;
}

export interface StepOutline extends Omit<G.StepOutline, "type" | "executions"> {
  type: TargetType;
  executions: ExecutionOutline[];
}

export interface RunOutline extends Omit<G.RunOutline, "state" | "steps"> {
  state: ExecutionState;
  steps: StepOutline[];
}

/** Counts by state: a state with none has no key. */
export interface EnvironmentActivity
  extends Omit<G.EnvironmentActivity, "status" | "last_day" | "last_week" | "newest_failure"> {
  status: G.EnvironmentStatus;
  last_day: Partial<Record<ExecutionState, number>>;
  last_week: Partial<Record<ExecutionState, number>>;
  newest_failure: RunSummary | null;
}

export interface ProjectActivity extends Omit<G.ProjectActivity, "environments"> {
  environments: EnvironmentActivity[];
}

export interface LogView extends Omit<G.LogView, "level"> {
  level: LogLevel;
}

export interface AssetSummary extends Omit<G.AssetSummary, "kind"> {
  kind: G.AssetInfo["kind"];
}

/** A running sensor (`GET /sensors`); its id is the id of the run that keeps it going. */
export interface SensorView extends Omit<G.SensorView, "state"> {
  state: ExecutionState;
}

/** The state of an input prompt: waiting for a person, answered, or dismissed. */
export type InputStatus = "pending" | "responded" | "dismissed";

export interface InputView extends Omit<G.InputView, "status"> {
  status: InputStatus;
}

// --- the run topic's deltas (`coflux/views.py` `RunDelta`), narrowed as the views are ---

export type { LogsAdded } from "./generated";

export interface StepAdded extends Omit<G.StepAdded, "step"> {
  step: StepView;
}

export interface ExecutionAdded extends Omit<G.ExecutionAdded, "execution"> {
  execution: ExecutionView;
}

export interface ExecutionChanged extends Omit<G.ExecutionChanged, "state" | "transition"> {
  state?: ExecutionState;
  transition?: TransitionView;
}

export type RunDelta = StepAdded | ExecutionAdded | ExecutionChanged | G.LogsAdded;
