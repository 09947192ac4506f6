/**
 * A project's recent activity as the landing pages draw it (`GET .../activity`,
 * docs/api.md "Activity"): which counts to show in which order (failures first),
 * which environments need a look first, and the hook that keeps it fresh.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "../api/http";
import type { EnvironmentActivity, ExecutionState, Fact, ProjectActivity } from "../api/types";
import { type ProjectLive, useProjectFacts, useProjectState } from "../live/project";
import { STATE_ORDER } from "../model/states";

/** The states of a run that went wrong: shown first and highlighted. */
export const FAILURE_STATES: ReadonlySet<string> = new Set<ExecutionState>(["failed", "timed_out", "abandoned"]);

export type StateCounts = Partial<Record<string, number>>;

/** The non-zero counts in the tallies' order (failures first); a state this Studio
 * does not know (a newer server's) comes last rather than not at all. */
export function orderedCounts(counts: StateCounts): Array<[string, number]> {
  const known = new Set<string>(STATE_ORDER);
  const states = [...STATE_ORDER, ...Object.keys(counts).filter((s) => !known.has(s)).sort()];
  return states.flatMap((state) => {
    const n = counts[state] ?? 0;
    return n > 0 ? [[state, n] as [string, number]] : [];
  });
}

export function failureCount(counts: StateCounts): number {
  return Object.entries(counts).reduce((sum, [state, n]) => sum + (FAILURE_STATES.has(state) ? (n ?? 0) : 0), 0);
}

export function totalCount(counts: StateCounts): number {
  return Object.values(counts).reduce<number>((sum, n) => sum + (n ?? 0), 0);
}

/** The environments with the most failures of the last day first (then of the
 * week); otherwise in the server's order (the order environments are listed). */
export function failuresFirst(environments: EnvironmentActivity[]): EnvironmentActivity[] {
  const rank = (e: EnvironmentActivity) => [failureCount(e.last_day), failureCount(e.last_week)];
  return environments
    .map((e, index) => ({ e, index, r: rank(e) }))
    .sort((a, b) => b.r[0]! - a.r[0]! || b.r[1]! - a.r[1]! || a.index - b.index)
    .map(({ e }) => e);
}

/** How long ago `epoch` was, roughly, from `now` (both seconds): "just now", "5 min ago". */
export function timeAgo(epoch: number, now: number): string {
  const s = Math.max(0, now - epoch);
  if (s < 60) return "just now";
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

export interface ActivityState {
  data: ProjectActivity | undefined;
  error: Error | undefined;
  /** The server has no activity route (an older one): the pages show none, not an error. */
  unsupported: boolean;
  /** Fetch again now (a fetch already under way is dropped for the new one). */
  reload(): void;
}

/** A project's activity, fetched now and again every `intervalMs` (the windows slide
 * and agents come and go without a fact for either); `reload` for the pages that
 * also follow the project's live topic. The last answer stays shown while the next
 * one is fetched, and an error keeps it too. */
export function useActivity(project: string, intervalMs: number): ActivityState {
  const [state, setState] = useState<{ data?: ProjectActivity; error?: Error }>({});
  const [tick, setTick] = useState(0);
  const reload = useRef(() => setTick((t) => t + 1)).current;
  useEffect(() => {
    setState({});
  }, [project]);
  useEffect(() => {
    const abort = new AbortController();
    api.getActivity(project, abort.signal).then(
      (data) => {
        if (!abort.signal.aborted) setState({ data });
      },
      (error: Error) => {
        if (!abort.signal.aborted) setState((s) => ({ data: s.data, error }));
      },
    );
    const timer = setTimeout(reload, intervalMs);
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [project, intervalMs, tick, reload]);
  const unsupported = state.error instanceof ApiError && state.error.endpointMissing;
  return { data: state.data, error: state.error, unsupported, reload };
}

// Facts that change what the activity shows: a run started, an execution's state
// (a run's is its root's), an agent's session, an environment renamed or archived.
const CHANGES: ReadonlySet<Fact["fact"]> = new Set<Fact["fact"]>(["run", "transition", "session", "environment"]);

/** At most one fetch this long after a batch of changes: a busy project sends many. */
const SETTLE_MS = 1000;

/** A project's activity kept current from its live topic (a fetch a moment after the
 * facts that change it, and after a reconnect), and every `intervalMs` besides. */
export function useLiveActivity(live: ProjectLive, intervalMs: number): ActivityState {
  const activity = useActivity(live.project, intervalMs);
  const { generation } = useProjectState(live);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const { reload } = activity;
  useProjectFacts(
    live,
    (facts) => {
      if (pending.current !== null || !facts.some((f) => CHANGES.has(f.fact))) return;
      pending.current = setTimeout(() => {
        pending.current = null;
        reload();
      }, SETTLE_MS);
    },
    [reload],
  );
  useEffect(() => () => {
    if (pending.current !== null) clearTimeout(pending.current);
  }, []);
  const first = useRef(generation);
  useEffect(() => {
    // A new snapshot after a reconnect: facts sent meanwhile are not replayed.
    if (generation !== first.current) reload();
  }, [generation, reload]);
  return activity;
}
