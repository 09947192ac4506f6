/**
 * Fetched lists kept current with the project's facts: an environment's
 * manifests and agents, and lists of runs. Each is fetched again when the project
 * topic reconnects (its `generation` changes), because facts sent while the
 * connection was down are not replayed.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/http";
import type { AgentView, Fact, Manifest, RunListed } from "../api/types";
import { applyRunFacts, type RunListFilter, runsQuery } from "../model/runs";
import type { ProjectLive } from "./project";
import { useProjectState } from "./project";

interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
}

/** Apply a `manifest` fact to a list of manifests (an empty manifest removes its repository). */
export function applyManifestFact(manifests: Manifest[], manifest: Manifest): Manifest[] {
  const others = manifests.filter((m) => m.repository !== manifest.repository);
  if (!manifest.targets || manifest.targets.length === 0) return others;
  return [...others, manifest].sort((a, b) => a.repository.localeCompare(b.repository));
}

export function useManifests(live: ProjectLive, environment: string): Loaded<Manifest[]> {
  const { generation } = useProjectState(live);
  const [state, setState] = useState<Loaded<Manifest[]>>({ data: undefined, error: undefined });
  useEffect(() => {
    let current = true;
    setState({ data: undefined, error: undefined });
    api.listManifests(live.project, environment).then(
      (data) => current && setState({ data: [...data].sort((a, b) => a.repository.localeCompare(b.repository)), error: undefined }),
      (error: Error) => current && setState({ data: undefined, error }),
    );
    const stop = live.onFactsListen((facts) => {
      const envId = live.envByName(environment)?.id;
      for (const fact of facts) {
        if (fact.fact !== "manifest" || fact.environment_id !== envId) continue;
        setState((s) => (s.data ? { ...s, data: applyManifestFact(s.data, fact.manifest) } : s));
      }
    });
    return () => {
      current = false;
      stop();
    };
  }, [live, environment, generation]);
  return state;
}

const AGENT_POLL_MS = 5000;

/**
 * Agents: fetched again when a session starts or an execution changes state in
 * the environment. A session that goes away produces no fact, so the list is also
 * refreshed every few seconds while shown.
 */
export function useAgents(live: ProjectLive, environment: string): Loaded<AgentView[]> {
  const { generation } = useProjectState(live);
  const [state, setState] = useState<Loaded<AgentView[]>>({ data: undefined, error: undefined });
  useEffect(() => {
    let current = true;
    let pending: ReturnType<typeof setTimeout> | null = null;
    const load = () => {
      pending = null;
      api.listAgents(live.project, environment).then(
        (data) => current && setState({ data, error: undefined }),
        (error: Error) => current && setState((s) => ({ data: s.data, error })),
      );
    };
    const soon = () => {
      if (pending === null) pending = setTimeout(load, 250);
    };
    load();
    const poll = setInterval(load, AGENT_POLL_MS);
    const stop = live.onFactsListen((facts: Fact[]) => {
      const envId = live.envByName(environment)?.id;
      if (facts.some((f) => (f.fact === "session" && f.environment_id === envId) || f.fact === "transition")) soon();
    });
    return () => {
      current = false;
      clearInterval(poll);
      if (pending !== null) clearTimeout(pending);
      stop();
    };
  }, [live, environment, generation]);
  return state;
}

export interface RunHistory {
  runs: RunListed[] | undefined; // the pages loaded so far
  error: Error | undefined;
  loading: boolean; // a page is on its way
  done: boolean; // the last page is loaded
  loadMore(): void;
}

/**
 * A list of runs through all of history, a page at a time (`loadMore` fetches the
 * runs past the last one's cursor); kept live by the project's facts. Filters or a
 * reconnection start it again from the first page.
 */
export function useRunHistory(live: ProjectLive, list: RunListFilter, pageSize = 50): RunHistory {
  const { generation } = useProjectState(live);
  const [state, setState] = useState<Omit<RunHistory, "loadMore">>({ runs: undefined, error: undefined, loading: true, done: false });
  const key = JSON.stringify(list);
  const listRef = useRef(list);
  listRef.current = list;
  const fetchRef = useRef<(after: string | null) => void>(() => {});
  useEffect(() => {
    const controller = new AbortController();
    const fetchPage = (after: string | null) => {
      setState((s) => ({ ...s, loading: true, error: undefined }));
      api.listRuns(live.project, runsQuery(listRef.current, pageSize, after), controller.signal).then(
        (page) =>
          setState((s) => {
            const known = new Set(after === null ? [] : (s.runs ?? []).map((r) => r.id));
            const runs = [...(after === null ? [] : (s.runs ?? [])), ...page.filter((r) => !known.has(r.id))];
            return { runs, error: undefined, loading: false, done: page.length < pageSize };
          }),
        (error: Error) => {
          if (error.name !== "AbortError") setState((s) => ({ ...s, error, loading: false }));
        },
      );
    };
    fetchRef.current = fetchPage;
    setState({ runs: undefined, error: undefined, loading: true, done: false });
    fetchPage(null);
    const stop = live.onFactsListen((facts) => {
      setState((s) => {
        if (!s.runs) return s;
        const runs = applyRunFacts(s.runs, facts, live.envName, listRef.current, Infinity, (run) => ({ ...run, cursor: "" }));
        return runs === s.runs ? s : { ...s, runs };
      });
    });
    return () => {
      controller.abort();
      stop();
    };
  }, [live, key, pageSize, generation]);
  const loadMore = () => {
    const last = state.runs?.[state.runs.length - 1];
    if (state.loading || state.done || !last?.cursor) return;
    fetchRef.current(last.cursor);
  };
  return { ...state, loadMore };
}
