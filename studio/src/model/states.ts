/**
 * Execution states as Studio shows them: a label and a glyph for each, so a state
 * is readable without its colour (the colour comes from CSS: `state-<name>`).
 */

import type { ExecutionState } from "../api/types";

interface StateInfo {
  label: string;
  glyph: string;
  active: boolean;
}

export const STATES: Record<ExecutionState, StateInfo> = {
  queued: { label: "queued", glyph: "◷", active: true },
  assigned: { label: "running", glyph: "▶", active: true },
  succeeded: { label: "succeeded", glyph: "✓", active: false },
  failed: { label: "failed", glyph: "✕", active: false },
  abandoned: { label: "abandoned", glyph: "⚠", active: false },
  cancelled: { label: "cancelled", glyph: "⊘", active: false },
  suspended: { label: "suspended", glyph: "⏸", active: false },
  timed_out: { label: "timed out", glyph: "◕", active: false },
  cached: { label: "cached", glyph: "↺", active: false },
  deferred: { label: "deferred", glyph: "⇢", active: false },
  spawned: { label: "spawned", glyph: "⇗", active: false },
};

export function stateInfo(state: string): StateInfo {
  return STATES[state as ExecutionState] ?? { label: state, glyph: "?", active: false };
}

export function isActive(state: string): boolean {
  return stateInfo(state).active;
}

/** Order used for tallies (most interesting first). */
export const STATE_ORDER: ExecutionState[] = [
  "failed",
  "timed_out",
  "abandoned",
  "assigned",
  "queued",
  "suspended",
  "cancelled",
  "deferred",
  "spawned",
  "cached",
  "succeeded",
];
