/**
 * Fetched lists kept current with the project's facts: an environment's
 * manifests and agents, and lists of runs. Each is fetched again when the project
 * topic reconnects (its `generation` changes), because facts sent while the
 * connection was down are not replayed.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/http";
import type { AgentView, Fact, Manifest, RunSummary } from "../api/types";
import { applyRunFacts, type RunListFilter } from "../model/runs";
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

export function useRuns(live: ProjectLive, filter: RunListFilter, limit = 50): Loaded<RunSummary[]> {
  const { generation } = useProjectState(live);
  const [state, setState] = useState<Loaded<RunSummary[]>>({ data: undefined, error: undefined });
  const key = JSON.stringify(filter);
  const filterRef = useRef(filter);
  filterRef.current = filter;
  useEffect(() => {
    let current = true;
    api.listRuns(live.project, { ...filterRef.current, limit }).then(
      (data) => current && setState({ data, error: undefined }),
      (error: Error) => current && setState({ data: undefined, error }),
    );
    const stop = live.onFactsListen((facts) => {
      setState((s) => {
        if (!s.data) return s;
        const data = applyRunFacts(s.data, facts, live.envName, filterRef.current, limit);
        return data === s.data ? s : { ...s, data };
      });
    });
    return () => {
      current = false;
      stop();
    };
  }, [live, key, limit, generation]);
  return state;
}
