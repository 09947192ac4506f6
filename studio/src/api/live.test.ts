// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { clearToken, onUnauthorised, setToken } from "./auth";
import { CLOSE_UNAUTHORISED, type ConnectionStatus, type SocketLike, subscribe } from "./live";
import type { ErrorDetail } from "./types";

class FakeSocket implements SocketLike {
  binaryType = "blob";
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  sent: string[] = [];
  closed = false;
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message: unknown) {
    this.onmessage?.({ data: new TextEncoder().encode(JSON.stringify(message)).buffer });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const cleanups: Array<() => void> = [];

function harness() {
  const sockets: FakeSocket[] = [];
  const protocols: string[][] = [];
  const errors: ErrorDetail[] = [];
  let refused = 0;
  cleanups.push(onUnauthorised(() => refused++));
  const scheduled: Array<() => void> = [];
  const statuses: ConnectionStatus[] = [];
  const snapshots: unknown[] = [];
  const facts: unknown[] = [];
  const stop = subscribe<{ n: number }>(
    { subscribe: "project", project: "demo" },
    {
      snapshot: (s) => snapshots.push(s),
      facts: (f) => facts.push(...f),
      status: (s) => statuses.push(s),
      error: (e) => errors.push(e),
    },
    {
      createSocket: (_url, offered) => {
        protocols.push(offered);
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket;
      },
      schedule: (fn) => scheduled.push(fn),
      cancelSchedule: () => undefined,
    },
  );
  return {
    sockets,
    protocols,
    errors,
    scheduled,
    statuses,
    snapshots,
    facts,
    stop,
    refused: () => refused,
  };
}

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  clearToken();
});

describe("live subscriptions", () => {
  it("subscribes on open, then takes a snapshot and facts", () => {
    const h = harness();
    h.sockets[0]!.open();
    expect(JSON.parse(h.sockets[0]!.sent[0]!)).toEqual({ subscribe: "project", project: "demo" });
    h.sockets[0]!.receive({ topic: "project", snapshot: { n: 1 } });
    h.sockets[0]!.receive({ topic: "project", facts: [{ fact: "run" }] });
    expect(h.snapshots).toEqual([{ n: 1 }]);
    expect(h.facts).toEqual([{ fact: "run" }]);
    expect(h.statuses).toEqual(["connecting", "live"]);
  });

  it("hands a run's deltas and the facts beside them to their handlers", () => {
    const deltas: unknown[] = [];
    const facts: unknown[] = [];
    const socket = new FakeSocket();
    cleanups.push(
      subscribe(
        { subscribe: "run", project: "demo", run_id: "R", deltas: true },
        { snapshot: () => undefined, deltas: (d) => deltas.push(...d), facts: (f) => facts.push(...f) },
        { createSocket: () => socket },
      ),
    );
    socket.open();
    expect(JSON.parse(socket.sent[0]!)).toEqual({ subscribe: "run", project: "demo", run_id: "R", deltas: true });
    socket.receive({ topic: "run", snapshot: {} });
    socket.receive({ topic: "run", deltas: [{ delta: "logs_added", entries: [] }], facts: [{ fact: "metrics" }] });
    expect(deltas).toEqual([{ delta: "logs_added", entries: [] }]);
    expect(facts).toEqual([{ fact: "metrics" }]);
  });

  it("shows a lost connection and recovers with a fresh snapshot", () => {
    const h = harness();
    h.sockets[0]!.open();
    h.sockets[0]!.receive({ topic: "project", snapshot: { n: 1 } });
    h.sockets[0]!.drop();
    expect(h.statuses.at(-1)).toBe("reconnecting");
    expect(h.scheduled).toHaveLength(1);
    h.scheduled[0]!();
    h.sockets[1]!.drop(); // the server is still down
    h.scheduled[1]!();
    h.sockets[2]!.open();
    h.sockets[2]!.receive({ topic: "project", snapshot: { n: 2 } });
    expect(h.snapshots).toEqual([{ n: 1 }, { n: 2 }]);
    expect(h.statuses.at(-1)).toBe("live");
  });

  it("does not reconnect after the topic ended or refused", () => {
    const h = harness();
    h.sockets[0]!.open();
    h.sockets[0]!.receive({ topic: "run", ended: true });
    h.sockets[0]!.drop();
    expect(h.scheduled).toHaveLength(0);
    expect(h.statuses.at(-1)).toBe("ended");
  });

  it("waits for a connecting socket to open before closing it (no browser error)", () => {
    const h = harness();
    h.stop();
    expect(h.sockets[0]!.closed).toBe(false);
    h.sockets[0]!.open();
    expect(h.sockets[0]!.closed).toBe(true);
    expect(h.sockets[0]!.sent).toEqual([]);
  });

  it("offers no subprotocol without a token", () => {
    const h = harness();
    expect(h.protocols).toEqual([[]]);
  });

  it("offers the signed-in token as a subprotocol, on reconnects too", () => {
    setToken("s3cret");
    const h = harness();
    h.sockets[0]!.open();
    h.sockets[0]!.drop();
    setToken("n3w");
    h.scheduled[0]!();
    expect(h.protocols).toEqual([
      ["coflux", "coflux.token.czNjcmV0"],
      ["coflux", "coflux.token.bjN3"],
    ]);
  });

  it("does not retry a subscription refused for its token, and reports it", () => {
    setToken("revoked");
    const h = harness();
    h.sockets[0]!.open();
    h.sockets[0]!.receive({ error: { reason: "unauthorised", message: "a valid token is required" } });
    h.sockets[0]!.drop(CLOSE_UNAUTHORISED);
    expect(h.scheduled).toHaveLength(0);
    expect(h.statuses.at(-1)).toBe("failed");
    expect(h.refused()).toBe(1);
    expect(h.errors.map((e) => e.reason)).toEqual(["unauthorised"]);
  });

  it("treats a close with 4005 and no message as refused too", () => {
    setToken("revoked");
    const h = harness();
    h.sockets[0]!.open();
    h.sockets[0]!.drop(CLOSE_UNAUTHORISED);
    expect(h.scheduled).toHaveLength(0);
    expect(h.statuses.at(-1)).toBe("failed");
    expect(h.refused()).toBe(1);
  });

  it("shows a forbidden subscription as an error without asking to sign in again", () => {
    setToken("other-project");
    const h = harness();
    h.sockets[0]!.open();
    h.sockets[0]!.receive({ error: { reason: "forbidden", message: "this token is for another project" } });
    h.sockets[0]!.drop(CLOSE_UNAUTHORISED);
    expect(h.scheduled).toHaveLength(0);
    expect(h.refused()).toBe(0);
    expect(h.errors.map((e) => e.reason)).toEqual(["forbidden"]);
  });
});
