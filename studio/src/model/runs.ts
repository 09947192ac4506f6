/**
 * Lists of runs (an environment's, a workflow's): which runs a list shows (its
 * filters, kept in the page's URL so that a link reproduces the view), the query
 * the API takes for them, and keeping a loaded list current by applying facts: a
 * new run is prepended when the list could show it, and a change to a run's first
 * step updates that run's state.
 */

import type { ExecutionState, Fact, RunSummary } from "../api/types";
import { ROOT_NUMBER, runIdOf, stepNumberOf } from "./ids";
import { isActive, STATE_ORDER } from "./states";

/** What a list of runs shows, as its URL says (`?state=failed&q=order-7&order=oldest`). */
export interface RunFilters {
  states: ExecutionState[]; // any of these (none: every state)
  workflow: { repository: string; target: string } | null; // an environment's list only
  since: number | null; // created at or after (seconds since the epoch)
  until: number | null; // created before
  key: string | null; // the idempotency key
  search: string | null; // the run's id, or text in its arguments (3+ characters)
  oldest: boolean; // oldest first (else newest first)
}

export const NO_FILTERS: RunFilters = { states: [], workflow: null, since: null, until: null, key: null, search: null, oldest: false };

/** The shortest search the server takes (its text indices look up three characters). */
export const MIN_SEARCH = 3;

/** The filters in a URL's query; what does not parse is left out (a hand-edited link still opens). */
export function parseFilters(params: URLSearchParams): RunFilters {
  const states = params.getAll("state").filter((s): s is ExecutionState => STATE_ORDER.includes(s as ExecutionState));
  const workflow = params.get("workflow");
  const split = workflow ? workflow.lastIndexOf(":") : -1;
  const time = (name: string) => {
    const value = Number(params.get(name) ?? "");
    return params.get(name) && Number.isFinite(value) && value >= 0 ? value : null;
  };
  const search = params.get("q");
  return {
    states: [...new Set(states)],
    workflow: workflow && split > 0 && split < workflow.length - 1 ? { repository: workflow.slice(0, split), target: workflow.slice(split + 1) } : null,
    since: time("since"),
    until: time("until"),
    key: params.get("key") || null,
    search: search && search.length >= MIN_SEARCH ? search : null,
    oldest: params.get("order") === "oldest",
  };
}

/** The filters as a URL query (empty when there are none), in a fixed order. */
export function filtersQuery(filters: RunFilters): string {
  const params = new URLSearchParams();
  for (const state of filters.states) params.append("state", state);
  if (filters.workflow) params.set("workflow", `${filters.workflow.repository}:${filters.workflow.target}`);
  if (filters.since !== null) params.set("since", String(filters.since));
  if (filters.until !== null) params.set("until", String(filters.until));
  if (filters.key) params.set("key", filters.key);
  if (filters.search) params.set("q", filters.search);
  if (filters.oldest) params.set("order", "oldest");
  const query = params.toString();
  return query ? `?${query}` : "";
}

export function hasFilters(filters: RunFilters): boolean {
  return filtersQuery({ ...filters, oldest: false }) !== "";
}

/** Which runs a list holds: its place (environment, workflow) and its filters. */
export interface RunListFilter {
  environment?: string;
  repository?: string;
  target?: string;
  filters?: RunFilters;
}

/** The query of `GET .../runs` for a list (docs/api.md, "Finding runs"). */
export function runsQuery(list: RunListFilter, limit: number, after: string | null): URLSearchParams {
  const params = new URLSearchParams();
  const filters = list.filters ?? NO_FILTERS;
  if (list.environment !== undefined) params.set("environment", list.environment);
  const repository = list.repository ?? filters.workflow?.repository;
  const target = list.target ?? filters.workflow?.target;
  if (repository !== undefined) params.set("repository", repository);
  if (target !== undefined) params.set("target", target);
  for (const state of filters.states) params.append("state", state);
  if (filters.since !== null) params.set("since", String(filters.since));
  if (filters.until !== null) params.set("until", String(filters.until));
  if (filters.key) params.set("idempotency_key", filters.key);
  if (filters.search) params.set("search", filters.search);
  if (filters.oldest) params.set("order", "oldest");
  if (after !== null) params.set("after", after);
  params.set("limit", String(limit));
  return params;
}

/**
 * Whether a run created now could belong in the list at its top: newest first, of
 * its environment and workflow, queued allowed, and no filter a `run` fact cannot
 * tell (its arguments, its key, a time range).
 */
function takesNewRuns(filter: RunListFilter): boolean {
  const filters = filter.filters ?? NO_FILTERS;
  if (filters.oldest || filters.search || filters.key || filters.until !== null) return false;
  return filters.states.length === 0 || filters.states.includes("queued");
}

/** A new list if any fact changed it, else the same list. */
export function applyRunFacts<R extends RunSummary>(
  runs: R[],
  facts: Fact[],
  environmentName: (id: string) => string,
  filter: RunListFilter,
  limit = 100,
  made: (run: RunSummary) => R = (run) => run as R,
): R[] {
  let out = runs;
  const copy = () => {
    if (out === runs) out = [...runs];
    return out;
  };
  const workflow = filter.filters?.workflow;
  for (const fact of facts) {
    if (fact.fact === "run") {
      if (!takesNewRuns(filter)) continue;
      const environment = environmentName(fact.environment_id);
      if (filter.environment !== undefined && filter.environment !== environment) continue;
      const repository = filter.repository ?? workflow?.repository;
      const target = filter.target ?? workflow?.target;
      if (repository !== undefined && repository !== fact.repository) continue;
      if (target !== undefined && target !== fact.target) continue;
      if (out.some((r) => r.id === fact.run_id)) continue;
      copy().unshift(
        made({
          id: fact.run_id,
          environment,
          repository: fact.repository,
          target: fact.target,
          state: "queued",
          created_at: fact.at,
          completed_at: null,
        }),
      );
      if (out.length > limit) out.length = limit;
    } else if (fact.fact === "transition") {
      // Only the first step's executions ("RUN:1:N") decide a run's state.
      if (stepNumberOf(fact.execution_id) !== ROOT_NUMBER) continue;
      const runId = runIdOf(fact.execution_id);
      const index = out.findIndex((r) => r.id === runId);
      if (index < 0) continue;
      const run = out[index] as R;
      copy()[index] = {
        ...run,
        state: fact.state,
        completed_at: isActive(fact.state) ? null : fact.at,
      };
    }
  }
  return out;
}
