/** An execution state: glyph + word + colour, so it reads without colour too. */

import { stateInfo } from "../model/states";

export function StateBadge({ state, title }: { state: string; title?: string }) {
  const info = stateInfo(state);
  return (
    <span class={`badge state-${state}`} title={title ?? info.label} data-state={state}>
      <span aria-hidden="true">{info.glyph}</span>
      {info.label}
    </span>
  );
}

export function StateDot({ state }: { state: string }) {
  const info = stateInfo(state);
  return (
    <span class={`state-dot state-${state}`} role="img" aria-label={info.label} title={info.label}>
      {info.glyph}
    </span>
  );
}
