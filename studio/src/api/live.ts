/**
 * Live subscriptions over `/api/live`: one WebSocket per subscription, a snapshot
 * first, then facts (deltas).
 *
 * A dropped connection is reported (`reconnecting`) and retried with a growing
 * delay; every reconnect subscribes again and receives a fresh snapshot, which
 * replaces whatever the client had, so nothing missed while offline is lost.
 * Facts may repeat across a snapshot boundary: consumers apply them idempotently.
 *
 * With a token signed in, every socket offers it as a subprotocol (`auth.ts`). A
 * subscription the server refuses for want of a valid token (an `unauthorised`
 * error, or a close with 4005) is not retried: it reports the refusal, which
 * brings up the sign-in screen.
 */

import { getToken, reportUnauthorised, tokenSubprotocols } from "./auth";
import type { ErrorDetail, Fact, RunDelta } from "./types";

/** The close code of a subscription refused for its token (`coflux.protocol.CLOSE_UNAUTHORISED`). */
export const CLOSE_UNAUTHORISED = 4005;

export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "ended" | "failed";

export type Subscription =
  | { subscribe: "run"; project: string; run_id: string; deltas?: boolean }
  | { subscribe: "project"; project: string };

export interface LiveHandlers<S> {
  snapshot(snapshot: S): void;
  facts(facts: Fact[]): void;
  /** A run subscribed with `deltas`: its view's changes (then `facts`: those beyond the view). */
  deltas?(deltas: RunDelta[]): void;
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
  /** `protocols` is empty without a token (then no subprotocol is offered at all). */
  createSocket?: (url: string, protocols: string[]) => SocketLike;
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

function defaultSocket(url: string, protocols: string[]): SocketLike {
  return (protocols.length > 0 ? new WebSocket(url, protocols) : new WebSocket(url)) as unknown as SocketLike;
}

/** Subscribe to a topic; returns a function that ends the subscription. */
export function subscribe<S>(request: Subscription, handlers: LiveHandlers<S>, options: LiveOptions = {}): () => void {
  const create = options.createSocket ?? defaultSocket;
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
    // The token is read on every (re)connect: the one signed in now.
    const ws = create(liveUrl(), tokenSubprotocols(getToken()));
    socket = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => ws.send(JSON.stringify(request));
    ws.onmessage = (event) => {
      if (stopped || socket !== ws) return;
      const message = decode(event.data) as {
        snapshot?: S;
        facts?: Fact[];
        deltas?: RunDelta[];
        ended?: boolean;
        error?: ErrorDetail;
      };
      if (message.error) {
        finished = true;
        setStatus("failed");
        handlers.error?.(message.error);
        if (message.error.reason === "unauthorised") reportUnauthorised();
      } else if (message.snapshot !== undefined) {
        attempt = 0;
        setStatus("live");
        handlers.snapshot(message.snapshot);
      } else if (message.deltas || message.facts) {
        if (message.deltas) handlers.deltas?.(message.deltas);
        if (message.facts) handlers.facts(message.facts);
      } else if (message.ended) {
        finished = true;
        setStatus("ended");
        handlers.ended?.();
      }
    };
    ws.onerror = () => {
      // onclose follows and decides what to do; nothing to add here.
    };
    ws.onclose = (event) => {
      if (stopped || socket !== ws || finished) return;
      if ((event as { code?: number } | null)?.code === CLOSE_UNAUTHORISED) {
        // Refused for its token without a message first: retrying would only be refused again.
        finished = true;
        socket = null;
        setStatus("failed");
        reportUnauthorised();
        return;
      }
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
