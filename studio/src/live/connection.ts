/**
 * The connection state shown in the header: the worst state among the live
 * subscriptions open now (a lost connection wins over a live one).
 *
 * A subscription refused because its run or project does not exist is not a
 * connection problem: the server answered, and the page says what is missing
 * (`reportRefusal`). Only a refusal the server could not serve keeps "failed".
 */

import type { ConnectionStatus } from "../api/live";
import type { ErrorDetail } from "../api/types";
import { Observable, useObservable } from "./store";

const RANK: Record<ConnectionStatus, number> = { reconnecting: 4, connecting: 3, failed: 2, live: 1, ended: 0 };

const statuses = new Map<object, ConnectionStatus>();
export const overallStatus = new Observable<ConnectionStatus | null>(null);

function recompute(): void {
  let worst: ConnectionStatus | null = null;
  for (const status of statuses.values()) {
    if (worst === null || RANK[status] > RANK[worst]) worst = status;
  }
  if (worst === "ended") worst = "live";
  if (worst !== overallStatus.value) overallStatus.set(worst);
}

export function reportStatus(owner: object, status: ConnectionStatus | null): void {
  if (status === null) statuses.delete(owner);
  else statuses.set(owner, status);
  recompute();
}

export function useOverallStatus(): ConnectionStatus | null {
  return useObservable(overallStatus);
}

/** Whether a refusal says the subscribed object does not exist (the server's 404
 * reasons: `unknown_run`, `unknown_project`, ...), as opposed to a server that
 * cannot serve it now. */
export function isMissing(error: ErrorDetail): boolean {
  return error.reason.startsWith("unknown_");
}

/** A subscription of `owner` was refused: a missing object counts as a finished
 * subscription (the header stays as the others make it), anything else as failed. */
export function reportRefusal(owner: object, error: ErrorDetail): void {
  reportStatus(owner, isMissing(error) ? "ended" : "failed");
}
