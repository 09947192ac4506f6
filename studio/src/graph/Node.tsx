/**
 * How one node of the run graph is drawn: a step, the header of a `cf.group` above
 * the member it shows, or a collapsed group of siblings. A node outside the state
 * the user picked above the graph is drawn dimmed.
 */

import { groupSummary, tally } from "../model/groups";
import { type Progress, percent } from "../model/metrics";
import type { Step } from "../model/run";
import { latest, stepState } from "../model/run";
import { stateInfo } from "../model/states";
import { formatCount, formatDuration } from "../model/format";
import { type CallGroup, GROUP_HEAD, type GraphNode, NODE_H, NODE_W } from "./layout";

function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/** The markers a step carries: how it ran, besides its state. */
export function stepMarkers(step: Step): string[] {
  const markers: string[] = [];
  const execution = latest(step);
  if (step.executions.some((e) => e.state === "cached")) markers.push("cached");
  if (Array.isArray(step.options?.memo)) markers.push("memo");
  if (step.executions.some((e) => e.state === "deferred")) markers.push("deferred");
  if (step.executions.some((e) => e.state === "spawned")) markers.push("spawned");
  if (execution && execution.attempt > 1) markers.push(`attempt ${execution.attempt}`);
  return markers;
}

export function stepDuration(step: Step, now: number): number | null {
  const execution = latest(step);
  if (!execution) return null;
  const start = execution.assignedAt ?? execution.createdAt;
  return (execution.completedAt ?? now) - start;
}

interface StepNodeProps {
  node: GraphNode;
  selected: boolean;
  now: number;
  /** The step's progress metric, if it has one: a bar along the node's foot. */
  progress?: Progress | undefined;
  /** Drawn faint: not in the state the user picked. */
  dimmed?: boolean;
}

/** Where a node's progress bar runs. */
const BAR_X = 32;
const BAR_W = NODE_W - BAR_X - 10;

export function StepNode({ node, selected, now, progress, dimmed = false }: StepNodeProps) {
  const step = node.step;
  const state = stepState(step);
  const info = stateInfo(state);
  const markers = stepMarkers(step);
  const duration = stepDuration(step, now);
  const group = node.callGroup;
  const place = group ? `, step ${formatCount(group.shown + 1)} of ${formatCount(group.members.length)} in ${group.label}` : "";
  const done = progress?.fraction != null ? percent(progress.fraction) : null;
  const label = `${step.target} #${step.number}, ${info.label}${markers.length ? ", " + markers.join(", ") : ""}${place}${done ? `, progress ${done}` : ""}`;
  const reason = state === "queued" ? latest(step)?.queuedReason : null;
  const described = reason ? `${label}: ${reason}` : label;
  return (
    <g
      class={`node state-${state}${selected ? " selected" : ""}${dimmed ? " dimmed" : ""}`}
      transform={`translate(${node.x},${node.y})`}
      data-key={node.key}
      data-step={step.id}
      data-state={state}
      role="button"
      aria-label={described}
      aria-pressed={selected}
    >
      <title>{described}</title>
      <rect class="node-box" width={NODE_W} height={NODE_H} rx={7} />
      <rect class="node-strip" width={5} height={NODE_H} rx={2} />
      <text class="node-glyph" x={18} y={NODE_H / 2 + 5} text-anchor="middle">
        {info.glyph}
      </text>
      <text class="node-title" x={32} y={19}>
        {truncate(step.target, markers.length ? 16 : 24)}
      </text>
      {markers.length > 0 && (
        <text class="node-marker" x={NODE_W - 8} y={18} text-anchor="end">
          {truncate(markers.join(" · "), 18)}
        </text>
      )}
      <text class="node-sub" x={32} y={36}>
        {truncate(`#${step.number} · ${info.label}${duration !== null ? " · " + formatDuration(duration) : ""}`, done ? 26 : 32)}
      </text>
      {done && progress && (
        <g class="node-progress" data-progress={done}>
          <text class="node-progress-label" x={NODE_W - 8} y={36} text-anchor="end">
            {done}
          </text>
          <rect class="node-progress-track" x={BAR_X} y={NODE_H - 6} width={BAR_W} height={3} rx={1.5} />
          <rect class="node-progress-fill" x={BAR_X} y={NODE_H - 6} width={BAR_W * (progress.fraction ?? 0)} height={3} rx={1.5} />
        </g>
      )}
      {node.expandedGroup && (
        <g class="node-collapse" data-collapse={node.expandedGroup.key}>
          <rect x={NODE_W - 70} y={-12} width={70} height={16} rx={8} />
          <text x={NODE_W - 35} y={0} text-anchor="middle">
            collapse {formatCount(node.expandedGroup.size)}
          </text>
        </g>
      )}
    </g>
  );
}

/** Glyph widths are guessed (SVG text is not measured): about 6.2 px a character at 11 px. */
const CHAR_W = 6.2;
const STATES_SHOWN = 2;

/**
 * A `cf.group`'s frame and header, drawn behind the member it shows: its label and
 * size with its members' states (each state jumps to the next member in it), and
 * the selector that moves between members.
 */
export function CallGroupHead({ node, group }: { node: GraphNode; group: CallGroup }) {
  const total = group.members.length;
  const summary = groupSummary(group.members);
  const others = tally(group.members).filter(([state]) => state !== "succeeded");
  const position = `${formatCount(group.shown + 1)} / ${formatCount(total)}`;
  const positionW = position.length * CHAR_W;
  const prevX = NODE_W - 18 - 6 - positionW - 6 - 18;
  return (
    <g
      class="call-group"
      transform={`translate(${node.x},${node.y - GROUP_HEAD})`}
      data-call-group={group.key}
      data-step={node.step.id}
      role="group"
      aria-label={`${group.label}: ${summary}; showing ${formatCount(group.shown + 1)} of ${formatCount(total)}`}
    >
      <title>{`${group.label}: ${summary}`}</title>
      <rect class="call-group-frame" x={-8} y={0} width={NODE_W + 16} height={GROUP_HEAD + NODE_H + 8} rx={10} />
      <text class="call-group-label" x={2} y={15}>
        {truncate(group.label, Math.floor((prevX - 10) / 7))}
      </text>
      <text class="call-group-summary" x={2} y={31}>
        {formatCount(total)} {total === 1 ? "step" : "steps"}
        {others.slice(0, STATES_SHOWN).map(([state, n]) => (
          <tspan key={state}>
            {" · "}
            <tspan class={`call-group-state state-${state}`} data-member-state={state}>
              {formatCount(n)} {stateInfo(state).label}
            </tspan>
          </tspan>
        ))}
        {others.length > STATES_SHOWN && " · …"}
      </text>
      {total > 1 && (
        <>
          <g class="call-group-move" data-member-move="-1" role="button" aria-label={`Previous step in ${group.label}`}>
            <rect x={prevX} y={3} width={18} height={17} rx={4} />
            <text x={prevX + 9} y={16} text-anchor="middle">
              ‹
            </text>
          </g>
          <text class="call-group-position" x={NODE_W - 24} y={16} text-anchor="end">
            {position}
          </text>
          <g class="call-group-move" data-member-move="1" role="button" aria-label={`Next step in ${group.label}`}>
            <rect x={NODE_W - 18} y={3} width={18} height={17} rx={4} />
            <text x={NODE_W - 9} y={16} text-anchor="middle">
              ›
            </text>
          </g>
        </>
      )}
    </g>
  );
}

/** The narrowest a state's part of a collapsed group's bar is drawn (px): 8 failures in 1,000 stay visible. */
export const SEGMENT_MIN = 6;

/**
 * The parts of a collapsed group's bar, one per state (`tally` order): as wide as its
 * share of `total`, but never narrower than `min`; the states with room to spare
 * give up the width the narrow ones take.
 */
export function tallySegments(counts: Array<[string, number]>, total: number, width: number, min = SEGMENT_MIN): Array<{ state: string; x: number; width: number }> {
  const share = (n: number) => (total > 0 ? (n / total) * width : 0);
  const narrow = counts.filter(([, n]) => share(n) < min);
  const wideCount = counts.reduce((sum, [, n]) => (share(n) < min ? sum : sum + n), 0);
  const room = Math.max(0, width - narrow.length * min);
  let x = 0;
  return counts.map(([state, n]) => {
    const w = share(n) < min ? min : (n / wideCount) * room;
    const segment = { state, x, width: w };
    x += w;
    return segment;
  });
}

export function GroupNode({ node, selected, dimmed = false }: { node: GraphNode; selected: boolean; dimmed?: boolean }) {
  const counts = tally(node.members);
  const total = node.members.length;
  const summary = counts.map(([state, n]) => `${formatCount(n)} ${stateInfo(state).label}`).join(", ");
  const label = `${node.step.target} × ${formatCount(total)} (collapsed group: ${summary}). Enter expands.`;
  const barW = NODE_W - 84;
  // The most interesting state first (`tally` order): "8 ✕" rather than "992✓".
  const [first, firstCount] = counts[0] ?? ["succeeded", 0];
  return (
    <g
      class={`node group${selected ? " selected" : ""}${dimmed ? " dimmed" : ""}`}
      transform={`translate(${node.x},${node.y})`}
      data-key={node.key}
      data-group={node.key}
      role="button"
      aria-label={label}
    >
      <title>{label}</title>
      <rect class="node-box stack" x={6} y={6} width={NODE_W} height={NODE_H} rx={7} />
      <rect class="node-box stack" x={3} y={3} width={NODE_W} height={NODE_H} rx={7} />
      <rect class="node-box" width={NODE_W} height={NODE_H} rx={7} />
      <text class="node-title" x={12} y={19}>
        {truncate(node.step.target, 18)} × {formatCount(total)}
      </text>
      <text class="node-marker" x={NODE_W - 8} y={18} text-anchor="end">
        expand
      </text>
      <g transform="translate(12,28)">
        {tallySegments(counts, total, barW).map(({ state, x, width }) => (
          <rect key={state} class={`tally state-${state}`} data-state={state} x={x} y={0} width={width} height={8} rx={2} />
        ))}
      </g>
      <text class={`node-sub group-first state-${first}`} x={NODE_W - 8} y={37} text-anchor="end">
        {counts.length === 1 ? stateInfo(first).glyph : `${formatCount(firstCount)} ${stateInfo(first).glyph}`}
      </text>
    </g>
  );
}
