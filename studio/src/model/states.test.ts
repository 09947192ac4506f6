import { describe, expect, it } from "vitest";
import type { ExecutionState } from "../api/types";
import { isActive, STATE_ORDER, STATES, stateInfo } from "./states";

// Written out independently of the table: every state the server reports.
const SERVER_STATES: ExecutionState[] = [
  "queued",
  "assigned",
  "succeeded",
  "failed",
  "abandoned",
  "cancelled",
  "suspended",
  "timed_out",
  "cached",
  "deferred",
  "spawned",
];

describe("states", () => {
  it("labels every state with its own glyph, and orders each once for tallies", () => {
    expect(Object.keys(STATES).sort()).toEqual([...SERVER_STATES].sort());
    expect(new Set(Object.values(STATES).map((s) => s.glyph)).size).toBe(SERVER_STATES.length);
    expect(new Set(Object.values(STATES).map((s) => s.label)).size).toBe(SERVER_STATES.length);
    expect([...STATE_ORDER].sort()).toEqual([...SERVER_STATES].sort());
  });

  it("shows a timed-out execution as ended, in words, next to the failures", () => {
    expect(stateInfo("timed_out").label).toBe("timed out");
    expect(isActive("timed_out")).toBe(false);
    expect(STATE_ORDER.indexOf("timed_out")).toBe(STATE_ORDER.indexOf("failed") + 1);
    expect(stateInfo("assigned").label).toBe("running");
  });

  it("shows a state it does not know by its name", () => {
    expect(stateInfo("recurred")).toEqual({ label: "recurred", glyph: "?", active: false });
  });
});
