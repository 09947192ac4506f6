/**
 * Live subscriptions over `/api/live`: one WebSocket per subscription, a snapshot
 * first, then facts (deltas).
 *
 * A dropped connection is reported (`reconnecting`) and retried with a growing
 * delay; every reconnect subscribes again and receives a fresh snapshot, which
 * replaces whatever the client had, so nothing missed while offline is lost.
 * Facts may repeat across a snapshot boundary: consumers apply them idempotently.
 */

import type { ErrorDetail, Fact } from "./types";

export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "ended" | "failed";

export type Subscription =
  | { subscribe: "run"; project: string; run_id: string }
  | { subscribe: "project"; project: string };

export interface LiveHandlers<S> {
  snapshot(snapshot: S): void;
  facts(facts: Fact[]): void;
  ended?(): void;
  error?(error: ErrorDetail): void;
  status?(status: ConnectionStatus): void;
}

/** The parts of the browser's WebSocket used here, so tests can pass a fake. */
export interface SocketLike {
  binaryType: string;
  readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}

export interface LiveOptions {
  createSocket?: (url: string) => SocketLike;
  /** Delay before reconnect attempt `n` (0-based), in milliseconds. */
  backoff?: (attempt: number) => number;
  schedule?: (fn: () => void, ms: number) => unknown;
  cancelSchedule?: (handle: unknown) => void;
}

const decoder = new TextDecoder();

export function liveUrl(): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/live`;
}

export function defaultBackoff(attempt: number): number {
  return Math.min(10_000, 250 * 2 ** attempt);
}

function decode(data: unknown): unknown {
  if (typeof data === "string") return JSON.parse(data);
  if (data instanceof ArrayBuffer) return JSON.parse(decoder.decode(data));
  if (ArrayBuffer.isView(data)) return JSON.parse(decoder.decode(data));
  throw new Error("unexpected live message");
}

/** Subscribe to a topic; returns a function that ends the subscription. */
export function subscribe<S>(request: Subscription, handlers: LiveHandlers<S>, options: LiveOptions = {}): () => void {
  const create = options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
  const backoff = options.backoff ?? defaultBackoff;
  const schedule = options.schedule ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const cancelSchedule = options.cancelSchedule ?? ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>));
  let socket: SocketLike | null = null;
  let attempt = 0;
  let stopped = false;
  let finished = false; // ended or refused: no reconnect
  let timer: unknown = null;

  const setStatus = (status: ConnectionStatus) => handlers.status?.(status);

  const connect = () => {
    if (stopped) return;
    timer = null;
    const ws = create(liveUrl());
    socket = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => ws.send(JSON.stringify(request));
    ws.onmessage = (event) => {
      if (stopped || socket !== ws) return;
      const message = decode(event.data) as {
        snapshot?: S;
        facts?: Fact[];
        ended?: boolean;
        error?: ErrorDetail;
      };
      if (message.error) {
        finished = true;
        setStatus("failed");
        handlers.error?.(message.error);
      } else if (message.snapshot !== undefined) {
        attempt = 0;
        setStatus("live");
        handlers.snapshot(message.snapshot);
      } else if (message.facts) {
        handlers.facts(message.facts);
      } else if (message.ended) {
        finished = true;
        setStatus("ended");
        handlers.ended?.();
      }
    };
    ws.onerror = () => {
      // onclose follows and decides what to do; nothing to add here.
    };
    ws.onclose = () => {
      if (stopped || socket !== ws || finished) return;
      socket = null;
      setStatus("reconnecting");
      timer = schedule(connect, backoff(attempt));
      attempt += 1;
    };
  };

  setStatus("connecting");
  connect();
  return () => {
    stopped = true;
    if (timer !== null) cancelSchedule(timer);
    if (socket) {
      const ws = socket;
      socket = null;
      ws.onclose = null;
      ws.onmessage = null;
      // Closing a socket that is still connecting makes browsers log an error;
      // let it open first, then close it.
      if (ws.readyState === 0) ws.onopen = () => ws.close();
      else ws.close();
    }
  };
}
