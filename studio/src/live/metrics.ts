/**
 * A run's metrics, live: the list (definitions, counts, latest points) read with
 * every snapshot of the run, so after a reconnect too; the run topic's `metrics`
 * facts applied as they come; and the points of each execution someone charts paged
 * in from the API once, then kept current by the facts (after a reconnect, paged on
 * from the last cursor). Executions are paged one at a time, so a run page with many
 * charts does not take every connection the browser allows the server.
 */

import { ApiError, api } from "../api/http";
import type { Fact } from "../api/types";
import { addMetricPage, addMetricViews, applyMetricsFact, emptyMetricBook, keepPoints, type MetricBook, POINTS_PAGE } from "../model/metrics";

/** What the metric views read: the book, and a way to ask for an execution's points. */
export interface MetricsSource {
  readonly book: MetricBook;
  /** The server has no metrics API (an older server): nothing to show. */
  readonly missing: boolean;
  /** Page in an execution's points (once) and keep them; `first`: ahead of those waiting. */
  wantPoints(executionId: string, first?: boolean): void;
}

export class MetricsLive implements MetricsSource {
  book: MetricBook = emptyMetricBook();
  missing = false;
  private queue: string[] = [];
  private paging = false;
  private listing = false;
  private listAgain = false;
  private readonly controller = new AbortController();

  constructor(
    private readonly project: string,
    private readonly runId: string,
    private readonly changed: () => void,
  ) {}

  /** A (new) snapshot of the run: read the list again, and what kept executions recorded meanwhile. */
  refresh(): void {
    this.list();
    for (const executionId of this.book.cursors.keys()) this.enqueue(executionId, false);
  }

  /** Apply the run topic's facts; returns whether the book changed. */
  apply(facts: Fact[]): boolean {
    let changed = false;
    for (const fact of facts) {
      if (fact.fact === "metrics" && fact.run_id === this.runId && applyMetricsFact(this.book, fact)) changed = true;
    }
    return changed;
  }

  wantPoints(executionId: string, first = false): void {
    if (this.missing || !keepPoints(this.book, executionId)) return;
    this.enqueue(executionId, first);
  }

  close(): void {
    this.controller.abort();
  }

  private list(): void {
    if (this.listing) {
      this.listAgain = true;
      return;
    }
    this.listing = true;
    api.listMetrics(this.project, this.runId, this.controller.signal).then(
      (views) => {
        if (addMetricViews(this.book, views)) this.changed();
      },
      (e: unknown) => {
        // An older server has no such endpoint; any other failure is retried with the next snapshot.
        if (e instanceof ApiError && e.endpointMissing) {
          this.missing = true;
          this.changed();
        }
      },
    ).finally(() => {
      this.listing = false;
      if (this.listAgain && !this.controller.signal.aborted) {
        this.listAgain = false;
        this.list();
      }
    });
  }

  private enqueue(executionId: string, first: boolean): void {
    const at = this.queue.indexOf(executionId);
    if (at >= 0) {
      if (!first) return;
      this.queue.splice(at, 1);
    }
    if (first) this.queue.unshift(executionId);
    else this.queue.push(executionId);
    if (!this.paging) void this.page();
  }

  private async page(): Promise<void> {
    this.paging = true;
    try {
      for (let executionId = this.queue.shift(); executionId !== undefined; executionId = this.queue.shift()) {
        try {
          for (;;) {
            const after = this.book.cursors.get(executionId) ?? 0;
            const page = await api.getMetricPoints(this.project, this.runId, executionId, after, this.controller.signal);
            if (this.controller.signal.aborted) return;
            if (addMetricPage(this.book, executionId, page.points)) this.changed();
            if (page.points.length < POINTS_PAGE) break;
          }
        } catch {
          if (this.controller.signal.aborted) return;
          // Shown as still loading; the next snapshot (a reconnect) pages it again.
        }
      }
    } finally {
      this.paging = false;
    }
  }
}
