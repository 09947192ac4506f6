/**
 * A list of runs through all of history: filters (in the page's URL, so a link
 * reproduces the view), the runs a page at a time, and more loaded as the end of
 * the list scrolls into view (or with "Load more"). Kept live by its hook.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { ExecutionState, Manifest } from "../api/types";
import { useRunHistory } from "../live/data";
import type { ProjectLive } from "../live/project";
import { hasFilters, MIN_SEARCH, NO_FILTERS, type RunFilters } from "../model/runs";
import { STATE_ORDER, stateInfo } from "../model/states";
import { href, navigate, useRoute } from "../router";
import { Empty, ErrorNotice, Loading } from "./Notice";
import { RunsTable } from "./RunsTable";

const PAGE = 50;

interface Props {
  live: ProjectLive;
  environment: string;
  /** A workflow's list; else the environment's, which can be filtered by workflow. */
  workflow?: { repository: string; target: string };
  /** The environment's manifests: the workflows to choose from. */
  manifests?: Manifest[] | undefined;
  label: string;
  empty: string;
}

export function RunHistory({ live, environment, workflow, manifests, label, empty }: Props) {
  const route = useRoute();
  const filters = (route.page === "environment" || route.page === "target" ? route.runs : undefined) ?? NO_FILTERS;
  const setFilters = (next: RunFilters) => {
    if (route.page === "environment" || route.page === "target") navigate(href({ ...route, runs: next }), { replace: true });
  };
  const history = useRunHistory(live, { environment, ...workflow, filters }, PAGE);
  const sentinel = useRef<HTMLDivElement>(null);
  const { loadMore } = history;
  useEffect(() => {
    const element = sentinel.current;
    if (!element || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    });
    observer.observe(element);
    return () => observer.disconnect();
  });
  const runs = history.runs;
  return (
    <>
      <FilterBar filters={filters} onChange={setFilters} workflows={workflow ? undefined : workflowsOf(manifests)} />
      {history.error && <ErrorNotice error={history.error} />}
      {!runs && !history.error && <Loading />}
      {runs?.length === 0 && <Empty>{hasFilters(filters) ? "No runs match these filters." : empty}</Empty>}
      {runs && runs.length > 0 && (
        <div class="card">
          <RunsTable project={live.project} runs={runs} showTarget={!workflow} label={label} />
        </div>
      )}
      {runs && runs.length > 0 && (
        <div class="row run-history-end" ref={sentinel}>
          <span class="muted" role="status" aria-live="polite">
            {runs.length === 1 ? "1 run shown" : `${runs.length} runs shown`}
            {history.done ? " (all)" : ""}
          </span>
          {!history.done && (
            <button type="button" class="small" onClick={loadMore} disabled={history.loading}>
              {history.loading ? "Loading…" : "Load more"}
            </button>
          )}
        </div>
      )}
    </>
  );
}

function workflowsOf(manifests: Manifest[] | undefined): { repository: string; target: string }[] {
  return (manifests ?? []).flatMap((m) =>
    (m.targets ?? []).filter((t) => t.type === "workflow").map((t) => ({ repository: m.repository, target: t.name })),
  );
}

/** `datetime-local` text (local time, minutes) for seconds since the epoch, and back. */
export function localInput(epoch: number | null): string {
  if (epoch === null) return "";
  const d = new Date(epoch * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(text: string): number | null {
  const time = text ? new Date(text).getTime() : NaN;
  return Number.isFinite(time) ? time / 1000 : null;
}

interface FilterBarProps {
  filters: RunFilters;
  onChange(filters: RunFilters): void;
  workflows: { repository: string; target: string }[] | undefined;
}

function FilterBar({ filters, onChange, workflows }: FilterBarProps) {
  // Texts apply on Enter or when the field is left; the rest at once.
  const [search, setSearch] = useState(filters.search ?? "");
  const [key, setKey] = useState(filters.key ?? "");
  useEffect(() => setSearch(filters.search ?? ""), [filters.search]);
  useEffect(() => setKey(filters.key ?? ""), [filters.key]);
  const tooShort = search.length > 0 && search.length < MIN_SEARCH;
  const applyTexts = () => {
    // A search too short to look up is not sent (and the list stays as it is).
    const next = { ...filters, search: tooShort ? filters.search : search || null, key: key || null };
    if (next.search !== filters.search || next.key !== filters.key) onChange(next);
  };
  const toggle = (state: ExecutionState, on: boolean) =>
    onChange({ ...filters, states: on ? [...filters.states, state] : filters.states.filter((s) => s !== state) });
  const workflowValue = filters.workflow ? `${filters.workflow.repository}:${filters.workflow.target}` : "";
  return (
    <form
      class="card run-filters"
      role="search"
      aria-label="Filter runs"
      onSubmit={(e) => {
        e.preventDefault();
        applyTexts();
      }}
    >
      <fieldset class="run-filter-states">
        <legend>State</legend>
        {STATE_ORDER.map((state) => (
          <label key={state} class={`state-choice state-${state}`}>
            <input type="checkbox" checked={filters.states.includes(state)} onChange={(e) => toggle(state, e.currentTarget.checked)} />
            {stateInfo(state).label}
          </label>
        ))}
      </fieldset>
      <div class="row wrap">
        {workflows && (
          <div class="field">
            <label for="run-filter-workflow">Workflow</label>
            <select
              id="run-filter-workflow"
              value={workflowValue}
              onChange={(e) => {
                const value = e.currentTarget.value;
                const split = value.lastIndexOf(":");
                onChange({ ...filters, workflow: value ? { repository: value.slice(0, split), target: value.slice(split + 1) } : null });
              }}
            >
              <option value="">All workflows</option>
              {workflowValue && !workflows.some((w) => `${w.repository}:${w.target}` === workflowValue) && (
                <option value={workflowValue}>{workflowValue.replace(":", " / ")}</option>
              )}
              {workflows.map((w) => (
                <option key={`${w.repository}:${w.target}`} value={`${w.repository}:${w.target}`}>
                  {w.repository} / {w.target}
                </option>
              ))}
            </select>
          </div>
        )}
        <div class="field">
          <label for="run-filter-since">Created from</label>
          <input id="run-filter-since" type="datetime-local" value={localInput(filters.since)} onChange={(e) => onChange({ ...filters, since: fromLocalInput(e.currentTarget.value) })} />
        </div>
        <div class="field">
          <label for="run-filter-until">Created before</label>
          <input id="run-filter-until" type="datetime-local" value={localInput(filters.until)} onChange={(e) => onChange({ ...filters, until: fromLocalInput(e.currentTarget.value) })} />
        </div>
        <div class="field">
          <label for="run-filter-key">Idempotency key</label>
          <input id="run-filter-key" type="text" value={key} onInput={(e) => setKey(e.currentTarget.value)} onBlur={applyTexts} />
        </div>
        <div class="field grow">
          <label for="run-filter-search">Search</label>
          <input
            id="run-filter-search"
            type="search"
            placeholder="Run id, or text in the arguments"
            value={search}
            aria-invalid={tooShort}
            aria-describedby="run-filter-search-hint"
            onInput={(e) => setSearch(e.currentTarget.value)}
            onBlur={applyTexts}
          />
          <span id="run-filter-search-hint" class={tooShort ? "field-error" : "field-hint"}>
            {tooShort ? `At least ${MIN_SEARCH} characters` : "Exact text, case counts"}
          </span>
        </div>
        <div class="field">
          <label for="run-filter-order">Order</label>
          <select id="run-filter-order" value={filters.oldest ? "oldest" : "newest"} onChange={(e) => onChange({ ...filters, oldest: e.currentTarget.value === "oldest" })}>
            <option value="newest">Newest first</option>
            <option value="oldest">Oldest first</option>
          </select>
        </div>
        {/* Applies the texts (as Enter does in them); the rest applies at once. */}
        <button type="submit" class="small">
          Apply
        </button>
        {hasFilters(filters) && (
          <button type="button" class="small" onClick={() => onChange({ ...NO_FILTERS, oldest: filters.oldest })}>
            Clear filters
          </button>
        )}
      </div>
    </form>
  );
}
