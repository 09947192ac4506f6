/**
 * One run, live: the run topic's snapshot and deltas applied to a `RunModel`, log
 * lines gathered from live deltas and (once someone looks at logs) from the logs
 * endpoint, metrics (`live/metrics.ts`) and input prompts (`live/inputs.ts`) from
 * the facts the topic sends beside its deltas, and the project topic's facts
 * watched too: work on the run after its topic has ended (a re-run) subscribes
 * again, so it shows up from a fresh snapshot.
 *
 * Renders are coalesced to one per animation frame however fast facts arrive.
 */

import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, api } from "../api/http";
import { type ConnectionStatus, subscribe } from "../api/live";
import type { ErrorDetail, Fact, RunAssets, RunDelta, RunView } from "../api/types";
import { addLines, emptyLogBook, type LogBook } from "../model/logs";
import { applyDeltas, fromSnapshot, hasActiveExecutions, type RunModel } from "../model/run";
import { reportRefusal, reportStatus } from "./connection";
import { InputsLive } from "./inputs";
import { MetricsLive } from "./metrics";
import type { ProjectLive } from "./project";

export interface RunState {
  model: RunModel | null;
  logs: LogBook;
  logsLoading: boolean;
  status: ConnectionStatus;
  error: ErrorDetail | null;
  tick: number;
}

export class RunLive {
  model: RunModel | null = null;
  logs: LogBook = emptyLogBook();
  logsWanted = false;
  logsLoading = false;
  status: ConnectionStatus = "connecting";
  error: ErrorDetail | null = null;
  ended = false;
  tick = 0;
  /** The run's assets (persisted and restored), once asked for; null until loaded. */
  assets: RunAssets | null = null;
  assetsMissing = false;
  /** The run's metrics: definitions and latest points always, points of what is charted. */
  readonly metrics: MetricsLive;
  /** The run's input prompts, pending and settled. */
  readonly inputs: InputsLive;
  private assetsWanted = false;
  private listeners = new Set<() => void>();
  private frame: number | null = null;
  private stops: Array<() => void> = [];
  private logFetch: Promise<void> | null = null;
  private refetchLogsAgain = false;
  private closed = false;
  private stopRun: (() => void) | null = null;

  constructor(
    readonly project: ProjectLive,
    readonly runId: string,
  ) {
    this.metrics = new MetricsLive(project.project, runId, () => this.changed());
    this.inputs = new InputsLive(project.project, { run: runId }, () => this.changed());
    this.subscribeRun();
    this.stops.push(project.onFactsListen((facts) => this.applyProjectFacts(facts)));
  }

  private subscribeRun(): void {
    this.stopRun?.();
    this.stopRun = subscribe<RunView>(
      { subscribe: "run", project: this.project.project, run_id: this.runId, deltas: true },
      {
        snapshot: (view) => {
          this.model = fromSnapshot(view);
          this.ended = false;
          this.error = null;
          // A snapshot after a reconnect: fetch the log lines sent meanwhile.
          if (this.logsWanted) this.fetchLogs();
          this.metrics.refresh();
          this.inputs.refresh();
          this.changed();
        },
        deltas: (deltas) => this.applyDeltas(deltas),
        facts: (facts) => this.applyFacts(facts),
        ended: () => {
          this.ended = true;
          this.changed();
        },
        error: (error) => {
          reportRefusal(this, error);
          this.error = error;
          this.changed();
        },
        status: (status) => {
          reportStatus(this, status);
          this.status = status;
          this.changed();
        },
      },
    );
  }

  private applyDeltas(deltas: RunDelta[]): void {
    if (!this.model) return;
    const applied = applyDeltas(this.model, deltas);
    const newLogs = applied.logs.length > 0 && addLines(this.logs, applied.logs);
    if (applied.changed || newLogs) this.changed();
  }

  /** The facts beyond the run's view: its metrics, assets and inputs. */
  private applyFacts(facts: Fact[]): void {
    if (!this.model) return;
    if (this.assetsWanted && facts.some((f) => (f.fact === "asset" || f.fact === "asset_restored") && f.run_id === this.runId)) {
      this.fetchAssets();
    }
    const newMetrics = this.metrics.apply(facts);
    const newInputs = this.inputs.apply(facts);
    if (newMetrics || newInputs) this.changed();
  }

  private applyProjectFacts(facts: Fact[]): void {
    if (!this.model) return;
    const mine = facts.some((f) => "run_id" in f && f.run_id === this.runId);
    if (!mine) return;
    this.applyFacts(facts);
    // The run topic ends with the run; later work on it (a re-run: a new step or
    // execution) subscribes again, for its changes and live log lines.
    const rerun = facts.some((f) => (f.fact === "step" || f.fact === "execution") && f.run_id === this.runId);
    if (this.ended && rerun) {
      this.ended = false;
      this.subscribeRun();
    }
  }

  /** Load the run's assets (once), then keep them current. */
  wantAssets(): void {
    if (this.assetsWanted) return;
    this.assetsWanted = true;
    this.fetchAssets();
  }

  private fetchAssets(): void {
    api.listRunAssets(this.project.project, this.runId).then(
      (assets) => {
        this.assets = assets;
        this.changed();
      },
      (e: unknown) => {
        // An older server has no such endpoint: assets then come only from values.
        if (e instanceof ApiError && e.endpointMissing) this.assetsMissing = true;
        this.changed();
      },
    );
  }

  /** Load the log lines recorded so far (once), then keep them current. */
  wantLogs(): void {
    if (this.logsWanted) return;
    this.logsWanted = true;
    this.fetchLogs();
  }

  private fetchLogs(): void {
    if (this.logFetch) {
      this.refetchLogsAgain = true;
      return;
    }
    this.logsLoading = true;
    this.changed();
    this.logFetch = (async () => {
      try {
        // Pages of up to 1,000 lines, from the last cursor seen.
        for (;;) {
          const page = await api.getLogs(this.project.project, this.runId, this.logs.cursor);
          if (this.closed) return;
          addLines(this.logs, page.logs);
          if (page.logs.length < 1000) break;
        }
      } catch {
        // Shown as missing lines; the next fact or reconnect fetches again.
      } finally {
        this.logFetch = null;
        this.logsLoading = false;
        this.changed();
        if (this.refetchLogsAgain && !this.closed) {
          this.refetchLogsAgain = false;
          this.fetchLogs();
        }
      }
    })();
  }

  get active(): boolean {
    return this.model !== null && hasActiveExecutions(this.model);
  }

  private changed(): void {
    if (this.frame !== null || this.closed) return;
    const flush = () => {
      this.frame = null;
      this.tick++;
      for (const listener of this.listeners) listener();
    };
    if (typeof requestAnimationFrame === "function" && document.visibilityState !== "hidden") {
      this.frame = requestAnimationFrame(flush);
    } else {
      this.frame = setTimeout(flush, 16) as unknown as number;
    }
  }

  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  close(): void {
    this.closed = true;
    this.metrics.close();
    this.inputs.close();
    this.stopRun?.();
    for (const stop of this.stops) stop();
    reportStatus(this, null);
  }
}

/** The live run; the component re-renders (at most once a frame) as it changes. */
export function useRunLive(project: ProjectLive, runId: string): RunLive {
  const live = useMemo(() => new RunLive(project, runId), [project, runId]);
  const [, setTick] = useState(0);
  useEffect(() => {
    const stop = live.listen(() => setTick(live.tick));
    return () => {
      stop();
      live.close();
    };
  }, [live]);
  return live;
}
