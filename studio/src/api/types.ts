/**
 * The shapes the server sends and accepts, mirrored from `coflux/views.py`
 * (views), `coflux/protocol.py` (values, outcomes, manifests) and
 * `coflux/orchestration/effects.py` (facts streamed on live topics).
 *
 * msgspec omits fields that hold their default on protocol records, so those are
 * optional here.
 */

export type ExecutionState =
  | "queued"
  | "assigned"
  | "succeeded"
  | "failed"
  | "abandoned"
  | "cancelled"
  | "suspended"
  | "timed_out"
  | "cached"
  | "deferred"
  | "spawned";

export type TargetType = "workflow" | "task" | "sensor";
export type LogLevel = "debug" | "info" | "warning" | "error" | "stdout" | "stderr";

export interface Value {
  format: "json" | "pickle";
  data?: unknown;
  blob?: string | null;
  size?: number;
  label?: string | null;
  executions?: string[];
  assets?: string[];
}

export interface ErrorInfo {
  type: string;
  message: string;
  traceback?: string;
}

export type Outcome =
  | { tag: "succeeded"; value: Value }
  | { tag: "failed"; error: ErrorInfo }
  | { tag: "cancelled" }
  | { tag: "abandoned" }
  | { tag: "timed_out"; timeout?: number };

export interface Parameter {
  name: string;
  annotation?: string | null;
  default?: string | null;
  kind?: "positional" | "var_positional" | "keyword";
  /** The JSON Schema of the JSON that can stand for the argument, from its
   * annotation; absent: anything (a JSON field in the Run… form). */
  schema?: Record<string, unknown> | null;
}

/** A running sensor (`GET /sensors`); its id is the id of the run that keeps it going. */
export interface SensorView {
  id: string;
  repository: string;
  target: string;
  /** The current execution (each restart is a new one). */
  execution_id: string;
  state: string;
  /** What it runs with now (its last checkpoint). */
  arguments: Value[];
}

export interface TargetOptions {
  wait?: number[];
  cache?: { max_age?: number | null; params?: number[] | null; namespace?: string | null; version?: string | null } | null;
  /** `limit` null: retried without limit (`retries=True`). */
  retries?: { limit: number | null; delay_min?: number; delay_max?: number } | null;
  defer?: { params?: number[] | null } | null;
  delay?: number;
  /** Positions to memoise on ([]: all); false: never; null or absent: as the run says. */
  memo?: number[] | boolean | null;
  /** A workflow's `memo=True`: its runs memoise every call that does not set `memo`. */
  memo_calls?: boolean;
  requires?: Record<string, string[]>;
  /** Seconds an execution may run (0 or absent: no limit). */
  timeout?: number;
  recurrent?: boolean;
}

/** The `cf.group` a step was called in: numbered from 0 per calling execution. */
export interface StepGroup {
  index: number;
  name?: string | null;
}

export interface TargetDefinition {
  name: string;
  type: TargetType;
  parameters?: Parameter[];
  docstring?: string | null;
  options?: TargetOptions;
}

export interface Manifest {
  repository: string;
  targets?: TargetDefinition[];
}

export interface LogEntry {
  execution_id: string;
  timestamp: number;
  level: LogLevel;
  template: string;
  values?: Record<string, Value>;
}

// --- views -------------------------------------------------------------------

export interface ProjectInfo {
  id: string;
  name: string;
  created_at: number;
  /** "unavailable" (with the reason in `error`): its database could not be opened,
   * or it failed and is being rebuilt. Absent from older servers: read as "ok". */
  status?: "ok" | "unavailable";
  error?: string | null;
}

export type EnvironmentStatus = "active" | "paused" | "archived";

export interface EnvironmentView {
  id: string;
  name: string;
  base: string | null;
  status: EnvironmentStatus;
  created_at: number;
  updated_at: number;
}

export interface TransitionView {
  state: ExecutionState;
  at: number;
  session_id?: string | null;
}

export interface ExecutionView {
  id: string;
  attempt: number;
  state: ExecutionState;
  environment: string;
  created_at: number;
  assigned_at: number | null;
  completed_at: number | null;
  session_id: string | null;
  /** Why a queued execution waits, as the server saw it when the view was read. */
  queued_reason?: string | null;
  /** A stand-in's leader: the execution whose outcome it takes (spawned: the first
   * execution of the run it started; cached: the one it reused; deferred: the call
   * that replaced it). Absent for every other execution. */
  successor?: string | null;
  outcome: Outcome | null;
  transitions: TransitionView[];
}

/** The parts of a run's outline (`GET .../runs/R/outline`) that Studio reads. */
export interface RunOutline {
  id: string;
  steps: Array<{ id: string; executions: Array<{ id: string; state: ExecutionState; queued_reason?: string | null }> }>;
}

export interface StepView {
  id: string;
  number: number;
  repository: string;
  target: string;
  type: TargetType;
  parent_execution: string | null;
  call_index: number | null;
  arguments: Value[];
  created_at: number;
  executions: ExecutionView[];
  options?: TargetOptions;
  group?: StepGroup | null;
}

export interface RunSummary {
  id: string;
  environment: string;
  repository: string;
  target: string;
  state: ExecutionState;
  created_at: number;
  completed_at: number | null;
}

/** An environment's recent activity (`GET .../activity`, docs/api.md "Activity"): its
 * runs of the last 24 hours and 7 days by state (a state with none has no key), its
 * newest failed run at any age, and how many agents are connected now. */
export interface EnvironmentActivity {
  environment: string;
  status: EnvironmentStatus;
  last_day: Partial<Record<ExecutionState, number>>;
  last_week: Partial<Record<ExecutionState, number>>;
  newest_failure: RunSummary | null;
  agents: number;
}

export interface ProjectActivity {
  project: string;
  /** The server's time when the counts were taken (the windows end there). */
  at: number;
  environments: EnvironmentActivity[];
}

/** A run as a list shows it: with the cursor of its place (the last one's, as `after`, gives the next page). */
export interface RunListed extends RunSummary {
  cursor: string;
}

export interface RunView extends RunSummary {
  idempotency_key: string | null;
  steps: StepView[];
  /** The execution (in another run) that spawned this run; null or absent: submitted. */
  spawned_by?: string | null;
}

export interface LogView extends LogEntry {
  id: number;
  run_id: string;
}

/** A metric's group (`cf.MetricGroup`): one chart, whose x-axis it describes. */
export interface MetricGroupInfo {
  name: string;
  units?: string | null;
  lower?: number | null;
  upper?: number | null;
}

/** A metric's scale (`cf.MetricScale`): its y-axis, shared within a group by name;
 * `progress` draws it as a bar toward `upper`. */
export interface MetricScaleInfo {
  name?: string | null;
  units?: string | null;
  lower?: number | null;
  upper?: number | null;
  progress?: boolean;
}

/** What one metric of an execution is (`protocol.MetricDefinition`); `throttle`
 * absent or null: every point is sent. */
export interface MetricDefinition {
  key: string;
  group?: MetricGroupInfo | null;
  scale?: MetricScaleInfo | null;
  throttle?: number | null;
}

/** A metric of an execution, with how many points it has and its latest (`value`
 * and `at` null: none yet). */
export interface MetricView {
  execution_id: string;
  key: string;
  group: MetricGroupInfo | null;
  scale: MetricScaleInfo | null;
  throttle: number | null;
  created_at: number;
  count: number;
  value: number | null;
  at: number | null;
}

/** A metric's point; `id` is the cursor for the next page. */
export interface MetricPointView {
  id: number;
  execution_id: string;
  key: string;
  value: number;
  at: number;
}

export interface AgentView {
  session_id: string;
  connected: boolean;
  expires_at: number | null;
  concurrency: number;
  provides: Record<string, string[]>;
  targets: Record<string, string[]>;
  executions: string[];
}

export interface AssetEntry {
  path: string;
  size: number;
  blob: string;
}

export interface AssetView {
  id: string;
  execution_id: string;
  kind: "file" | "directory";
  path: string;
  size: number;
  file_count: number;
  metadata?: Record<string, unknown>;
  entries: AssetEntry[];
}

export interface AssetSummary {
  id: string;
  execution_id: string;
  kind: "file" | "directory";
  path: string;
  size: number;
  file_count: number;
  created_at: number;
}

export interface RunAssets {
  assets: AssetSummary[];
  restores: Array<{ asset_id: string; execution_id: string; at: number }>;
}

/** The state of an input prompt: waiting for a person, answered, or dismissed. */
export type InputStatus = "pending" | "responded" | "dismissed";

/** An input prompt as the execution that asked recorded it (`protocol.InputInfo`, in
 * the `input_requested` fact, without the fields that hold their default): a
 * Markdown `template` with `{k}`, `{{k}}` and `{{{k}}}` placeholders filled from
 * `placeholders` (values as log entries carry them); `schema` null for an approval
 * (respond or dismiss, nothing to fill in); `actions` the two button labels
 * (respond, dismiss) when the prompt names them; `requires` recorded and shown. */
export interface InputInfo {
  id: string;
  execution_id: string;
  run_id: string;
  /** The environment's name. */
  environment: string;
  key: string;
  template: string;
  created_at: number;
  title?: string | null;
  placeholders?: Record<string, Value>;
  schema?: Record<string, unknown> | null;
  initial?: unknown;
  actions?: [string, string] | null;
  requires?: Record<string, string[]>;
}

/** An input prompt as the API lists it (`views.InputView`): what was asked, and
 * whether, when and by whom it was settled (answered or dismissed); `response` is
 * the answer (null while pending, when dismissed, and for an approval). */
export interface InputView extends InputInfo {
  title: string | null;
  placeholders: Record<string, Value>;
  schema: Record<string, unknown> | null;
  initial: unknown;
  actions: [string, string] | null;
  requires: Record<string, string[]>;
  status: InputStatus;
  responded_at: number | null;
  responded_by: string | null;
  response: unknown;
}

// --- facts (live deltas) -------------------------------------------------------

export interface EnvironmentFact {
  fact: "environment";
  environment_id: string;
  name: string;
  base_id: string | null;
  status: EnvironmentStatus;
  at: number;
}

export interface ManifestFact {
  fact: "manifest";
  environment_id: string;
  manifest: Manifest;
  at: number;
}

export interface SessionFact {
  fact: "session";
  session_id: string;
  environment_id: string;
  concurrency: number;
  provides: Record<string, string[]>;
  at: number;
}

export interface RunFact {
  fact: "run";
  run_id: string;
  environment_id: string;
  repository: string;
  target: string;
  idempotency_key: string | null;
  at: number;
}

export interface StepFact {
  fact: "step";
  step_id: string;
  run_id: string;
  number: number;
  parent_execution_id: string | null;
  call_index: number | null;
  repository: string;
  target: string;
  type: TargetType;
  arguments: Value[];
  options: TargetOptions;
  at: number;
  group?: StepGroup | null;
}

export interface ExecutionFact {
  fact: "execution";
  execution_id: string;
  step_id: string;
  run_id: string;
  attempt: number;
  environment_id: string;
  due_at: number;
  at: number;
}

export interface TransitionFact {
  fact: "transition";
  execution_id: string;
  run_id: string;
  state: ExecutionState;
  session_id: string | null;
  at: number;
}

/** A stand-in (spawned, cached, deferred execution) follows another one's outcome. */
export interface LinkFact {
  fact: "link";
  execution_id: string;
  run_id: string;
  leader_id: string;
  at: number;
}

export interface OutcomeFact {
  fact: "outcome";
  execution_id: string;
  run_id: string;
  outcome: Outcome;
  at: number;
}

export interface LogsFact {
  fact: "logs";
  entries: LogEntry[];
  run_ids: string[];
}

/** An execution's new metric definitions and points (each `[value, at]`); `at` is
 * when the server recorded them, not a point's x. */
export interface MetricsFact {
  fact: "metrics";
  execution_id: string;
  run_id: string;
  definitions: MetricDefinition[];
  series: Array<{ key: string; points: Array<[number, number]> }>;
  at: number;
}

export interface AssetFact {
  fact: "asset";
  asset: AssetView;
  run_id: string;
  at: number;
}

export interface AssetRestoredFact {
  fact: "asset_restored";
  asset_id: string;
  execution_id: string;
  run_id: string;
  at: number;
}

/** An execution asked for input. */
export interface InputRequestedFact {
  fact: "input_requested";
  input: InputInfo;
  run_id: string;
  at: number;
}

/** Someone answered an input (`value`: the JSON answer, null for an approval). */
export interface InputRespondedFact {
  fact: "input_responded";
  input_id: string;
  run_id: string;
  value: unknown;
  responded_by: string;
  at: number;
}

/** Someone dismissed an input: the execution that asked gets `InputDismissed`. */
export interface InputDismissedFact {
  fact: "input_dismissed";
  input_id: string;
  run_id: string;
  dismissed_by: string;
  at: number;
}

export type Fact =
  | EnvironmentFact
  | ManifestFact
  | SessionFact
  | RunFact
  | StepFact
  | ExecutionFact
  | TransitionFact
  | LinkFact
  | OutcomeFact
  | LogsFact
  | MetricsFact
  | AssetFact
  | AssetRestoredFact
  | InputRequestedFact
  | InputRespondedFact
  | InputDismissedFact;

export interface ErrorDetail {
  reason: string;
  message: string;
}

/** A project token as the server lists it (never the token itself). */
export interface TokenView {
  id: string;
  project: string; // the project's id
  environments: string[] | null; // null: every environment of the project
  read_only: boolean;
  description: string;
  created_at: number;
  revoked_at: number | null;
}

/** `GET /api/auth`: whether the server needs a token, and who the request's token is. */
export interface AuthView {
  required: boolean;
  authenticated: boolean;
  admin: boolean;
  token: TokenView | null;
}
