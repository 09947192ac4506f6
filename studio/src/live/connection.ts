/**
 * The connection state shown in the header: the worst state among the live
 * subscriptions open now (a lost connection wins over a live one).
 */

import type { ConnectionStatus } from "../api/live";
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
