/**
 * The HTTP API client: one typed function per route Studio uses (see docs/api.md).
 *
 * Errors come back as `ApiError`, carrying the server's `reason` so callers can
 * tell "this server has no such endpoint" (reason `not_found`, used only by the
 * server's fallback 404) from a refusal about their input.
 */

import type {
  AgentView,
  AssetView,
  EnvironmentView,
  LogView,
  Manifest,
  ProjectInfo,
  RunAssets,
  RunOutline,
  RunSummary,
  RunView,
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

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: "application/json" } };
  if (signal) init.signal = signal;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, "Content-Type": "application/json" };
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!response.ok) {
    const detail = (parsed as { error?: { reason?: string; message?: string } } | undefined)?.error;
    throw new ApiError(
      response.status,
      detail?.reason ?? "http_error",
      detail?.message ?? `${method} ${path} failed with status ${response.status}`,
    );
  }
  return parsed as T;
}

const P = (project: string) => `/api/projects/${seg(project)}`;
const E = (project: string, environment: string) => `${P(project)}/environments/${seg(environment)}`;

export interface RunFilter {
  environment?: string;
  repository?: string;
  target?: string;
  limit?: number;
}

export interface LogPage {
  logs: LogView[];
  cursor: number;
}

export const api = {
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

  submitRun: (project: string, environment: string, repository: string, target: string, args: Value[]) =>
    request<{ run_id: string; created: boolean }>("POST", `${P(project)}/runs`, {
      environment,
      repository,
      target,
      arguments: args,
    }),
  listRuns: (project: string, filter: RunFilter) => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) {
      if (value !== undefined) query.set(key, String(value));
    }
    return request<RunSummary[]>("GET", `${P(project)}/runs?${query}`);
  },
  getRun: (project: string, runId: string) => request<RunView>("GET", `${P(project)}/runs/${seg(runId)}`),
  getRunOutline: (project: string, runId: string, signal?: AbortSignal) =>
    request<RunOutline>("GET", `${P(project)}/runs/${seg(runId)}/outline`, undefined, signal),
  getLogs: (project: string, runId: string, after: number, signal?: AbortSignal) =>
    request<LogPage>("GET", `${P(project)}/runs/${seg(runId)}/logs?after=${after}`, undefined, signal),
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
};

export function blobUrl(key: string): string {
  return `/blobs/${seg(key)}`;
}
