/**
 * The run graph's layout: steps placed left to right by call depth, each parent
 * centred on its children (a tidy tree), computed in linear time.
 *
 * The calls of one `cf.group` share one node, which draws one member at a time
 * (the first, or the one chosen in `shown`) under a header naming the group; the
 * other members and everything they called are hidden behind it. Large fan-outs
 * outside groups are collapsed: when one step calls the same target more than
 * `threshold` times, those siblings become one collapsed node (with their
 * descendants hidden behind it) until the user expands it. Edges are calls
 * (parent -> child) and result dependencies (a step whose arguments refer to
 * another step's execution); an edge to or from a hidden step is drawn to or from
 * the node that hides it.
 */

import { groupKeyOf, groupLabel } from "../model/groups";
import type { RunModel, Step } from "../model/run";

export const NODE_W = 224;
export const NODE_H = 46;
export const COL_GAP = 64;
export const ROW_H = NODE_H + 14;
export const GROUP_THRESHOLD = 12;
/** The room a `cf.group`'s header takes above the member it shows. */
export const GROUP_HEAD = 40;

/** The `cf.group` a node stands for, and which member it shows. */
export interface CallGroup {
  key: string;
  label: string;
  members: Step[];
  /** The position in `members` of the member shown (the node's `step`). */
  shown: number;
}

export interface GraphNode {
  key: string;
  kind: "step" | "group";
  /** The step shown (a collapsed node shows its first member's target). */
  step: Step;
  /** A collapsed node's members; for a step node, empty. */
  members: Step[];
  depth: number;
  x: number;
  y: number;
  parentKey: string | null;
  childKeys: string[];
  /** Set on the first member of an expanded group, so it can be collapsed again. */
  expandedGroup?: { key: string; size: number };
  /** Set on the node of a `cf.group` (its key is the group's). */
  callGroup?: CallGroup;
}

export interface Edge {
  from: string;
  to: string;
  kind: "call" | "dependency";
}

export interface Layout {
  nodes: GraphNode[];
  byKey: Map<string, GraphNode>;
  /** The node showing each step (its own, or the one hiding it). */
  nodeOfStep: Map<string, string>;
  edges: Edge[];
  byDepth: GraphNode[][];
  width: number;
  height: number;
}

/** What the user changed about the layout: groups expanded, members chosen. */
export interface LayoutChoices {
  /** Keys of the collapsed sibling groups the user expanded. */
  expanded?: ReadonlySet<string>;
  /** The member each `cf.group` shows (by group key; the first when absent). */
  shown?: ReadonlyMap<string, string>;
  threshold?: number;
}

export function groupKey(parentStepId: string, step: Step): string {
  return `group:${parentStepId}:${step.repository}:${step.target}`;
}

interface Pending {
  node: GraphNode;
}

type ChildEntry =
  | { kind: "step"; step: Step; expandedGroup?: { key: string; size: number } }
  | { kind: "group"; key: string; members: Step[] }
  | { kind: "callGroup"; group: CallGroup };

function childEntries(model: RunModel, parent: Step, choices: Required<LayoutChoices>): ChildEntry[] {
  const children = model.children.get(parent.id);
  if (!children || children.length === 0) return [];
  // Members of a cf.group stay together whatever they call; other siblings are
  // collapsed by target. Either way, in the order of their first call.
  const groups = new Map<string, { called: boolean; members: Step[] }>();
  for (const child of children) {
    const callGroup = groupKeyOf(child);
    const key = callGroup ?? groupKey(parent.id, child);
    const entry = groups.get(key);
    if (entry) entry.members.push(child);
    else groups.set(key, { called: callGroup !== null, members: [child] });
  }
  const out: ChildEntry[] = [];
  for (const [key, { called, members }] of groups) {
    if (called) {
      const chosen = choices.shown.get(key);
      const shown = Math.max(0, chosen === undefined ? 0 : members.findIndex((m) => m.id === chosen));
      out.push({ kind: "callGroup", group: { key, label: groupLabel(members[0] as Step), members, shown } });
    } else if (members.length > choices.threshold && !choices.expanded.has(key)) {
      out.push({ kind: "group", key, members });
    } else {
      members.forEach((step, i) => {
        if (i === 0 && members.length > choices.threshold) out.push({ kind: "step", step, expandedGroup: { key, size: members.length } });
        else out.push({ kind: "step", step });
      });
    }
  }
  return out;
}

/**
 * The collapsed sibling groups that hide `stepId` (its own, and those of its
 * callers), as `childEntries` makes them: the groups to expand for the step to get a
 * node of its own. A `cf.group` hiding it is not one of them: it shows the member
 * chosen (`membersShowing`).
 */
export function groupsHiding(model: RunModel, stepId: string, threshold = GROUP_THRESHOLD): string[] {
  const out: string[] = [];
  let step = model.steps.get(stepId);
  while (step && step.parentStep !== null) {
    const parent = step.parentStep;
    const current: Step = step;
    if (groupKeyOf(current) === null) {
      const key = groupKey(parent, current);
      const siblings = (model.children.get(parent) ?? []).filter((s) => groupKeyOf(s) === null && groupKey(parent, s) === key);
      if (siblings.length > threshold) out.push(key);
    }
    step = model.steps.get(parent);
  }
  return out;
}

function hideDescendants(model: RunModel, steps: Step[], key: string, nodeOfStep: Map<string, string>): void {
  const stack = [...steps];
  while (stack.length > 0) {
    const step = stack.pop() as Step;
    nodeOfStep.set(step.id, key);
    const children = model.children.get(step.id);
    if (children) stack.push(...children);
  }
}

export function layoutRun(model: RunModel, layoutChoices: LayoutChoices = {}): Layout {
  const choices: Required<LayoutChoices> = {
    expanded: layoutChoices.expanded ?? new Set(),
    shown: layoutChoices.shown ?? new Map(),
    threshold: layoutChoices.threshold ?? GROUP_THRESHOLD,
  };
  const nodes: GraphNode[] = [];
  const byKey = new Map<string, GraphNode>();
  const nodeOfStep = new Map<string, string>();
  const roots = model.order.filter((s) => s.parentStep === null || !model.steps.has(s.parentStep));

  // Pre-order walk with an explicit stack (runs can nest deeply).
  const stack: Pending[] = [];
  const makeStepNode = (step: Step, depth: number, parentKey: string | null, key = step.id): GraphNode => ({
    key,
    kind: "step",
    step,
    members: [],
    depth,
    x: depth * (NODE_W + COL_GAP),
    y: 0,
    parentKey,
    childKeys: [],
  });
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ node: makeStepNode(roots[i] as Step, 0, null) });
  while (stack.length > 0) {
    const { node } = stack.pop() as Pending;
    nodes.push(node);
    byKey.set(node.key, node);
    if (node.kind === "group") {
      hideDescendants(model, node.members, node.key, nodeOfStep);
      continue;
    }
    if (node.callGroup) {
      const hidden = node.callGroup.members.filter((m) => m !== node.step);
      hideDescendants(model, hidden, node.key, nodeOfStep);
    }
    nodeOfStep.set(node.step.id, node.key);
    const children: GraphNode[] = childEntries(model, node.step, choices).map((entry) => {
      const depth = node.depth + 1;
      if (entry.kind === "group") {
        return {
          key: entry.key,
          kind: "group",
          step: entry.members[0] as Step,
          members: entry.members,
          depth,
          x: depth * (NODE_W + COL_GAP),
          y: 0,
          parentKey: node.key,
          childKeys: [],
        };
      }
      if (entry.kind === "callGroup") {
        const child = makeStepNode(entry.group.members[entry.group.shown] as Step, depth, node.key, entry.group.key);
        child.callGroup = entry.group;
        return child;
      }
      const child = makeStepNode(entry.step, depth, node.key);
      if (entry.expandedGroup) child.expandedGroup = entry.expandedGroup;
      return child;
    });
    node.childKeys = children.map((c) => c.key);
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i] as GraphNode });
  }

  // Leaves take rows in pre-order, below the header of every group they are in;
  // parents sit midway between their first and last child.
  let cursor = 0;
  for (const node of nodes) {
    if (node.callGroup) cursor += GROUP_HEAD;
    if (node.childKeys.length === 0) {
      node.y = cursor;
      cursor += ROW_H;
    }
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i] as GraphNode;
    if (node.childKeys.length === 0) continue;
    const first = byKey.get(node.childKeys[0] as string) as GraphNode;
    const last = byKey.get(node.childKeys[node.childKeys.length - 1] as string) as GraphNode;
    node.y = (first.y + last.y) / 2;
  }

  const edges: Edge[] = [];
  for (const node of nodes) if (node.parentKey) edges.push({ from: node.parentKey, to: node.key, kind: "call" });
  const seen = new Set<string>();
  for (const step of model.order) {
    if (step.dependencies.length === 0) continue;
    const to = nodeOfStep.get(step.id);
    if (!to) continue;
    for (const dependency of step.dependencies) {
      const from = nodeOfStep.get(dependency);
      const id = `${from}>${to}`;
      if (!from || from === to || seen.has(id)) continue;
      seen.add(id);
      edges.push({ from, to, kind: "dependency" });
    }
  }

  const byDepth: GraphNode[][] = [];
  let maxDepth = 0;
  for (const node of nodes) {
    (byDepth[node.depth] ??= []).push(node);
    maxDepth = Math.max(maxDepth, node.depth);
  }
  for (const column of byDepth) column?.sort((a, b) => a.y - b.y);

  return {
    nodes,
    byKey,
    nodeOfStep,
    edges,
    byDepth,
    width: nodes.length ? (maxDepth + 1) * (NODE_W + COL_GAP) - COL_GAP : 0,
    height: nodes.length ? Math.max(ROW_H, cursor) - (ROW_H - NODE_H) : 0,
  };
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The nodes that intersect `view` (graph coordinates): only these are drawn. */
export function nodesInView(layout: Layout, view: Rect): GraphNode[] {
  const out: GraphNode[] = [];
  const right = view.x + view.width;
  const bottom = view.y + view.height;
  for (const node of layout.nodes) {
    const top = node.callGroup ? node.y - GROUP_HEAD : node.y;
    if (node.x + NODE_W < view.x || node.x > right || node.y + NODE_H < view.y || top > bottom) continue;
    out.push(node);
  }
  return out;
}

/**
 * The call edges to draw for `view`, as SVG paths. A parent's calls share one
 * trunk (out of the parent, down the gap between the columns), and each child
 * visible in the view gets a stub into it: a fan-out of thousands is one trunk and
 * a few stubs, not thousands of overlapping curves.
 */
export function callPaths(layout: Layout, view: Rect, visible: GraphNode[]): Array<{ key: string; d: string; arrow: boolean }> {
  const out: Array<{ key: string; d: string; arrow: boolean }> = [];
  const right = view.x + view.width;
  const bottom = view.y + view.height;
  for (const parent of layout.nodes) {
    if (parent.childKeys.length === 0) continue;
    const x1 = parent.x + NODE_W;
    const xm = x1 + COL_GAP / 2;
    if (xm < view.x || x1 > right) continue;
    const first = layout.byKey.get(parent.childKeys[0] as string) as GraphNode;
    const last = layout.byKey.get(parent.childKeys[parent.childKeys.length - 1] as string) as GraphNode;
    const yp = parent.y + NODE_H / 2;
    const top = Math.min(yp, first.y + NODE_H / 2);
    const end = Math.max(yp, last.y + NODE_H / 2);
    if (end < view.y || top > bottom) continue;
    // Clip the trunk to the view: a trunk can be hundreds of thousands of pixels long.
    const from = Math.max(top, view.y);
    const to = Math.min(end, bottom);
    out.push({ key: `trunk:${parent.key}`, d: `M${x1},${yp} H${xm} M${xm},${from} V${to}`, arrow: false });
  }
  for (const node of visible) {
    const parent = node.parentKey ? layout.byKey.get(node.parentKey) : undefined;
    if (!parent) continue;
    const xm = parent.x + NODE_W + COL_GAP / 2;
    out.push({ key: `stub:${node.key}`, d: `M${xm},${node.y + NODE_H / 2} H${node.x}`, arrow: true });
  }
  return out;
}

/**
 * The result-dependency edges to draw: those touching a node in view (or the
 * selected one), at most `max` of them, so a step that consumes thousands of
 * results does not draw thousands of lines on every frame.
 */
export function dependencyEdgesInView(layout: Layout, visible: GraphNode[], selected: string | null, max = 200): Edge[] {
  const inView = new Set(visible.map((n) => n.key));
  const out: Edge[] = [];
  for (const edge of layout.edges) {
    if (edge.kind !== "dependency") continue;
    const touchesSelected = selected !== null && (edge.from === selected || edge.to === selected);
    // Prefer edges whose source is on screen: the target's side is one point.
    if (inView.has(edge.from) || touchesSelected || (inView.has(edge.to) && out.length < max / 2)) out.push(edge);
    if (out.length >= max) break;
  }
  return out;
}

type Point = [number, number];

/**
 * The route of a result-dependency edge, as axis-aligned segments: out of the
 * source's right side to a lane, along the lane, into the target. Into a node of a
 * later column the lane runs just left of the target and the edge enters from the
 * left; into a node of the same (or an earlier) column it runs just right of the
 * target and enters from the right. Edges into one target share its lane.
 */
export function dependencyRoute(layout: Layout, edge: Edge): Point[] | null {
  const a = layout.byKey.get(edge.from);
  const b = layout.byKey.get(edge.to);
  if (!a || !b) return null;
  const y1 = a.y + NODE_H / 2 + 6;
  const y2 = b.y + NODE_H / 2 + 6;
  if (b.x > a.x) {
    const lane = b.x - 14;
    return [[a.x + NODE_W, y1], [lane, y1], [lane, y2], [b.x, y2]];
  }
  const lane = Math.max(a.x, b.x) + NODE_W + 18;
  return [[a.x + NODE_W, y1], [lane, y1], [lane, y2], [b.x + NODE_W + 2, y2]];
}

function clipSegment(p: Point, q: Point, view: Rect): [Point, Point] | null {
  const [x0, y0] = p;
  const [x1, y1] = q;
  const left = view.x;
  const right = view.x + view.width;
  const top = view.y;
  const bottom = view.y + view.height;
  if (y0 === y1) {
    if (y0 < top || y0 > bottom) return null;
    const a = Math.max(Math.min(x0, x1), left);
    const b = Math.min(Math.max(x0, x1), right);
    if (a > b) return null;
    return x0 <= x1 ? [[a, y0], [b, y0]] : [[b, y0], [a, y0]];
  }
  if (x0 < left || x0 > right) return null;
  const a = Math.max(Math.min(y0, y1), top);
  const b = Math.min(Math.max(y0, y1), bottom);
  if (a > b) return null;
  return y0 <= y1 ? [[x0, a], [x0, b]] : [[x0, b], [x0, a]];
}

/**
 * An axis-aligned polyline clipped to `view`, as an SVG path (or null if none of
 * it shows). Long edges are clipped before drawing because browsers rasterise
 * every dash of a dashed line, on screen or not.
 */
export function clippedPath(points: Point[], view: Rect): { d: string; endVisible: boolean } | null {
  let d = "";
  let endVisible = false;
  let pen: Point | null = null;
  for (let i = 0; i + 1 < points.length; i++) {
    const clipped = clipSegment(points[i] as Point, points[i + 1] as Point, view);
    if (!clipped) {
      pen = null;
      continue;
    }
    const [from, to] = clipped;
    if (!pen || pen[0] !== from[0] || pen[1] !== from[1]) d += `M${from[0]},${from[1]} `;
    d += `L${to[0]},${to[1]} `;
    pen = to;
    if (i + 2 === points.length) {
      const end = points[i + 1] as Point;
      endVisible = to[0] === end[0] && to[1] === end[1];
    }
  }
  return d ? { d: d.trim(), endVisible } : null;
}

export type Direction = "left" | "right" | "up" | "down";

/** The node keyboard navigation moves to from `key`. */
export function neighbour(layout: Layout, key: string, direction: Direction): string | null {
  const node = layout.byKey.get(key);
  if (!node) return null;
  if (direction === "left") return node.parentKey;
  if (direction === "right") {
    if (node.childKeys.length === 0) return null;
    // The child nearest to this node's row, so left-right-left returns here.
    let best: GraphNode | null = null;
    for (const childKey of node.childKeys) {
      const child = layout.byKey.get(childKey) as GraphNode;
      if (!best || Math.abs(child.y - node.y) < Math.abs(best.y - node.y)) best = child;
    }
    return best?.key ?? null;
  }
  const column = layout.byDepth[node.depth] ?? [];
  const index = column.indexOf(node);
  const next = column[direction === "up" ? index - 1 : index + 1];
  return next?.key ?? null;
}
