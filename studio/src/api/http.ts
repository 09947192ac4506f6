/**
 * The HTTP API client: one typed function per route Studio uses (see docs/api.md).
 *
 * Errors come back as `ApiError`, carrying the server's `reason` so callers can
 * tell "this server has no such endpoint" (reason `not_found`, used only by the
 * server's fallback 404) from a refusal about their input.
 *
 * Every request carries the signed-in token (`auth.ts`), blobs included; a 401
 * anywhere reports it, which brings up the sign-in screen.
 */

import { authHeaders, getToken, reportUnauthorised } from "./auth";
import type {
  AgentView,
  AssetView,
  AuthView,
  EnvironmentView,
  InputStatus,
  InputView,
  LogView,
  Manifest,
  MetricPointView,
  MetricView,
  ProjectActivity,
  ProjectInfo,
  RunAssets,
  RunListed,
  RunOutline,
  RunView,
  SensorView,
  Value,
} from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The server does not have this endpoint at all (an older server). */
  get endpointMissing(): boolean {
    return this.status === 404 && this.reason === "not_found";
  }
}

const seg = encodeURIComponent;

/** `fetch` with the token; a network failure becomes an `ApiError`, a 401 is reported. */
async function send(path: string, init: RequestInit, token: string | null): Promise<Response> {
  const request: RequestInit = { ...init, headers: { ...(init.headers as Record<string, string>), ...authHeaders(token) } };
  let response: Response;
  try {
    response = await fetch(path, request);
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  if (response.status === 401) reportUnauthorised();
  return response;
}

async function failure(response: Response, method: string, path: string): Promise<ApiError> {
  let detail: { reason?: string; message?: string } | undefined;
  try {
    detail = (JSON.parse(await response.text()) as { error?: typeof detail } | undefined)?.error;
  } catch {
    detail = undefined;
  }
  return new ApiError(
    response.status,
    detail?.reason ?? "http_error",
    detail?.message ?? `${method} ${path} failed with status ${response.status}`,
  );
}

async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
  token: string | null = getToken(),
): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: "application/json" } };
  if (signal) init.signal = signal;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, "Content-Type": "application/json" };
  }
  const response = await send(path, init, token);
  if (!response.ok) throw await failure(response, method, path);
  const text = await response.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined as T;
  }
}

const P = (project: string) => `/api/projects/${seg(project)}`;
const E = (project: string, environment: string) => `${P(project)}/environments/${seg(environment)}`;

export interface LogPage {
  logs: LogView[];
  cursor: number;
}

export interface MetricPointPage {
  points: MetricPointView[];
  cursor: number;
}

export const api = {
  /** Whether the server needs a token and who `token` (default: the signed-in one) is. */
  getAuth: (token: string | null = getToken()) => request<AuthView>("GET", "/api/auth", undefined, undefined, token),

  listProjects: () => request<ProjectInfo[]>("GET", "/api/projects"),
  createProject: (name: string) => request<ProjectInfo>("POST", "/api/projects", { name }),

  listEnvironments: (project: string) => request<EnvironmentView[]>("GET", `${P(project)}/environments`),
  createEnvironment: (project: string, name: string, base: string | null) =>
    request<EnvironmentView>("POST", `${P(project)}/environments`, base ? { name, base } : { name }),
  updateEnvironment: (project: string, environment: string, change: { name?: string; base?: string | null }) =>
    request<EnvironmentView>("PATCH", E(project, environment), change),
  setEnvironmentStatus: (project: string, environment: string, action: "pause" | "resume" | "archive") =>
    request<EnvironmentView>("POST", `${E(project, environment)}/${action}`),

  listManifests: (project: string, environment: string) =>
    request<Manifest[]>("GET", `${E(project, environment)}/manifests`),
  listAgents: (project: string, environment: string) =>
    request<AgentView[]>("GET", `${E(project, environment)}/agents`),
  /** Each environment's runs of the last day and week by state, newest failure and agents connected. */
  getActivity: (project: string, signal?: AbortSignal) =>
    request<ProjectActivity>("GET", `${P(project)}/activity`, undefined, signal),

  submitRun: (project: string, environment: string, repository: string, target: string, args: Value[]) =>
    request<{ run_id: string; created: boolean }>("POST", `${P(project)}/runs`, {
      environment,
      repository,
      target,
      arguments: args,
    }),
  startSensor: (project: string, environment: string, repository: string, target: string, args: Value[]) =>
    request<{ sensor_id: string }>("POST", `${P(project)}/sensors`, { environment, repository, target, arguments: args }),
  listSensors: (project: string, environment: string) =>
    request<SensorView[]>("GET", `${P(project)}/sensors?environment=${encodeURIComponent(environment)}`),
  stopSensor: (project: string, sensorId: string) =>
    request<{ cancelled: string[] }>("POST", `${P(project)}/sensors/${seg(sensorId)}/stop`),
  /** A page of runs (`model/runs.ts` builds the query); each carries the cursor of its place. */
  listRuns: (project: string, query: URLSearchParams, signal?: AbortSignal) =>
    request<RunListed[]>("GET", `${P(project)}/runs?${query}`, undefined, signal),
  getRun: (project: string, runId: string) => request<RunView>("GET", `${P(project)}/runs/${seg(runId)}`),
  getRunOutline: (project: string, runId: string, signal?: AbortSignal) =>
    request<RunOutline>("GET", `${P(project)}/runs/${seg(runId)}/outline`, undefined, signal),
  /** A page of a run's log lines after `after`; `filter`: only those whose message holds
   * `q` (any case), at `level` or above, searched on the server (docs/api.md). */
  getLogs: (project: string, runId: string, after: number, signal?: AbortSignal, filter?: { q?: string; level?: string }) =>
    request<LogPage>(
      "GET",
      `${P(project)}/runs/${seg(runId)}/logs?${new URLSearchParams({ after: String(after), ...(filter?.q ? { q: filter.q } : {}), ...(filter?.level ? { level: filter.level } : {}) })}`,
      undefined,
      signal,
    ),
  /** A page of one execution's logs (an attempt's, in the step panel). */
  getExecutionLogs: (project: string, runId: string, executionId: string, after: number, signal?: AbortSignal) =>
    request<LogPage>("GET", `${P(project)}/runs/${seg(runId)}/logs?execution=${seg(executionId)}&after=${after}`, undefined, signal),
  /** The run's metrics (definitions, counts, latest points), or one execution's. */
  listMetrics: (project: string, runId: string, signal?: AbortSignal) =>
    request<MetricView[]>("GET", `${P(project)}/runs/${seg(runId)}/metrics`, undefined, signal),
  /** Up to 1,000 of an execution's metric points after the cursor `after`. */
  getMetricPoints: (project: string, runId: string, executionId: string, after: number, signal?: AbortSignal) =>
    request<MetricPointPage>(
      "GET",
      `${P(project)}/runs/${seg(runId)}/metrics/points?execution=${seg(executionId)}&after=${after}`,
      undefined,
      signal,
    ),
  cancelRun: (project: string, runId: string) =>
    request<{ cancelled: string[] }>("POST", `${P(project)}/runs/${seg(runId)}/cancel`),
  cancelExecution: (project: string, executionId: string) =>
    request<{ cancelled: string[] }>("POST", `${P(project)}/executions/${seg(executionId)}/cancel`),
  rerunStep: (project: string, stepId: string, environment: string | null) =>
    request<{ execution_id: string }>("POST", `${P(project)}/steps/${seg(stepId)}/rerun`, { environment }),
  listRunAssets: (project: string, runId: string) =>
    request<RunAssets>("GET", `${P(project)}/runs/${seg(runId)}/assets`),
  getAsset: (project: string, assetId: string) =>
    request<AssetView>("GET", `${P(project)}/assets/${seg(assetId)}`),
  /** Input prompts of an environment or a run, newest first (`status` "all": settled ones too). */
  listInputs: (project: string, filter: { environment?: string; run?: string; status?: InputStatus | "all" }, signal?: AbortSignal) =>
    request<{ inputs: InputView[] }>("GET", `${P(project)}/inputs?${inputsQuery(filter)}`, undefined, signal),
  getInput: (project: string, inputId: string) => request<InputView>("GET", `${P(project)}/inputs/${seg(inputId)}`),
  /** Answer an input (`value` null for an approval); a 400 names the field it refuses. */
  respondToInput: (project: string, inputId: string, value: unknown) =>
    request<InputView>("POST", `${P(project)}/inputs/${seg(inputId)}/respond`, { value }),
  dismissInput: (project: string, inputId: string) => request<InputView>("POST", `${P(project)}/inputs/${seg(inputId)}/dismiss`),
};

function inputsQuery(filter: { environment?: string; run?: string; status?: string }): URLSearchParams {
  const query = new URLSearchParams();
  if (filter.environment) query.set("environment", filter.environment);
  if (filter.run) query.set("run", filter.run);
  if (filter.status) query.set("status", filter.status);
  return query;
}

export function blobUrl(key: string): string {
  return `/blobs/${seg(key)}`;
}

/** A blob's contents, fetched with the token (a plain `<a href>` or `<img src>` would
 * go without it). */
export async function fetchBlob(key: string, signal?: AbortSignal): Promise<Response> {
  const path = blobUrl(key);
  const response = await send(path, signal ? { signal } : {}, getToken());
  if (!response.ok) throw await failure(response, "GET", path);
  return response;
}
