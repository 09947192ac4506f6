/**
 * The live view of one project, shared by every screen inside it: its
 * environments (from the project topic's snapshot, then `environment` facts) and a
 * stream of the project's facts for the screens that keep lists current.
 *
 * After a reconnect the snapshot bumps `generation`, so screens that keep their
 * own fetched data (manifests, agents, run lists) fetch it again: facts sent
 * while the connection was down are not replayed.
 */

import { useEffect, useMemo } from "preact/hooks";
import { type ConnectionStatus, subscribe } from "../api/live";
import type { EnvironmentView, ErrorDetail, Fact } from "../api/types";
import { applyEnvironmentFact, type Env, type Envs, fromViews } from "../model/environments";
import { reportRefusal, reportStatus } from "./connection";
import { Observable, useObservable } from "./store";

export interface ProjectState {
  envs: Envs | null;
  status: ConnectionStatus;
  error: ErrorDetail | null;
  generation: number;
}

export class ProjectLive {
  readonly state = new Observable<ProjectState>({ envs: null, status: "connecting", error: null, generation: 0 });
  private factListeners = new Set<(facts: Fact[]) => void>();
  private stop: () => void;
  refs = 0;

  constructor(readonly project: string) {
    this.stop = subscribe<{ environments: EnvironmentView[] }>(
      { subscribe: "project", project },
      {
        snapshot: (snapshot) => {
          const s = this.state.value;
          this.state.set({ ...s, envs: fromViews(snapshot.environments), error: null, generation: s.generation + 1 });
        },
        facts: (facts) => this.onFacts(facts),
        error: (error) => {
          reportRefusal(this, error);
          this.state.set({ ...this.state.value, error });
        },
        status: (status) => {
          reportStatus(this, status);
          if (status !== this.state.value.status) this.state.set({ ...this.state.value, status });
        },
      },
    );
  }

  private onFacts(facts: Fact[]): void {
    let envs = this.state.value.envs;
    for (const fact of facts) if (fact.fact === "environment" && envs) envs = applyEnvironmentFact(envs, fact);
    if (envs !== this.state.value.envs) this.state.set({ ...this.state.value, envs });
    for (const listener of this.factListeners) listener(facts);
  }

  /** The name of an environment id (ids appear in facts, names in views). */
  envName = (id: string): string => this.state.value.envs?.get(id)?.name ?? id;

  envByName(name: string): Env | undefined {
    for (const env of this.state.value.envs?.values() ?? []) if (env.name === name) return env;
    return undefined;
  }

  onFactsListen(listener: (facts: Fact[]) => void): () => void {
    this.factListeners.add(listener);
    return () => {
      this.factListeners.delete(listener);
    };
  }

  close(): void {
    this.stop();
    reportStatus(this, null);
  }
}

const open = new Map<string, ProjectLive>();

function acquire(project: string): ProjectLive {
  let live = open.get(project);
  if (!live) open.set(project, (live = new ProjectLive(project)));
  live.refs++;
  return live;
}

function release(live: ProjectLive): void {
  live.refs--;
  // Keep it a moment: navigating between screens of one project re-acquires it.
  setTimeout(() => {
    if (live.refs === 0 && open.get(live.project) === live) {
      open.delete(live.project);
      live.close();
    }
  }, 1000);
}

/** Close every project's live view now (on sign-out: no socket stays open with the
 * old token for the moment `release` keeps one). */
export function closeAllProjects(): void {
  const lives = [...open.values()];
  open.clear();
  for (const live of lives) live.close();
}

/** The shared live view of `project` (kept open while any screen uses it). */
export function useProjectLive(project: string): ProjectLive {
  const live = useMemo(() => acquire(project), [project]);
  useEffect(() => () => release(live), [live]);
  return live;
}

export function useProjectState(live: ProjectLive): ProjectState {
  return useObservable(live.state);
}

/** Calls `listener` with every batch of the project's facts while mounted. */
export function useProjectFacts(live: ProjectLive, listener: (facts: Fact[]) => void, deps: unknown[]): void {
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const stable = useMemo(() => listener, deps);
  useEffect(() => live.onFactsListen(stable), [live, stable]);
}
