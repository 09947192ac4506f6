/** How one node of the run graph is drawn: a step, or a collapsed group of siblings. */

import type { Step } from "../model/run";
import { latest, stepState } from "../model/run";
import { STATE_ORDER, stateInfo } from "../model/states";
import { formatCount, formatDuration } from "../model/format";
import { type GraphNode, NODE_H, NODE_W } from "./layout";

function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/** The markers a step carries: how it ran, besides its state. */
export function stepMarkers(step: Step): string[] {
  const markers: string[] = [];
  const execution = latest(step);
  if (step.executions.some((e) => e.state === "cached")) markers.push("cached");
  if (step.options?.memo) markers.push("memo");
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
}

export function StepNode({ node, selected, now }: StepNodeProps) {
  const step = node.step;
  const state = stepState(step);
  const info = stateInfo(state);
  const markers = stepMarkers(step);
  const duration = stepDuration(step, now);
  const label = `${step.target} #${step.number}, ${info.label}${markers.length ? ", " + markers.join(", ") : ""}`;
  const reason = state === "queued" ? latest(step)?.queuedReason : null;
  const described = reason ? `${label}: ${reason}` : label;
  return (
    <g
      class={`node state-${state}${selected ? " selected" : ""}`}
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
        {truncate(`#${step.number} · ${info.label}${duration !== null ? " · " + formatDuration(duration) : ""}`, 32)}
      </text>
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

export function tally(members: Step[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const step of members) {
    const state = stepState(step);
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  return STATE_ORDER.filter((s) => counts.has(s)).map((s) => [s, counts.get(s) as number]);
}

export function GroupNode({ node, selected }: { node: GraphNode; selected: boolean }) {
  const counts = tally(node.members);
  const total = node.members.length;
  const summary = counts.map(([state, n]) => `${formatCount(n)} ${stateInfo(state).label}`).join(", ");
  const label = `${node.step.target} × ${formatCount(total)} (collapsed group: ${summary}). Enter expands.`;
  let offset = 0;
  const barW = NODE_W - 84;
  return (
    <g
      class={`node group${selected ? " selected" : ""}`}
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
        {counts.map(([state, n]) => {
          const w = (n / total) * barW;
          const x = offset;
          offset += w;
          return <rect key={state} class={`tally state-${state}`} x={x} y={0} width={Math.max(w, 1)} height={8} rx={2} />;
        })}
      </g>
      <text class="node-sub" x={NODE_W - 8} y={37} text-anchor="end">
        {counts.length === 1 ? stateInfo(counts[0]?.[0] ?? "").glyph : `${formatCount(counts.find(([s]) => s === "succeeded")?.[1] ?? 0)}✓`}
      </text>
    </g>
  );
}
