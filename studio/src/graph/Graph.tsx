/**
 * The run graph: the layout drawn in SVG, zoomable (Ctrl/⌘ + wheel, buttons, +/-)
 * and pannable (drag, wheel, arrow keys with Shift). Only nodes and edges on
 * screen are rendered, so a run of thousands of steps stays responsive.
 *
 * Keyboard: the graph is one tab stop; arrows move the selection (left: caller,
 * right: callee, up/down: neighbours in the column), Enter expands a collapsed
 * group, [ and ] show the previous and next member of a `cf.group`.
 *
 * A `cf.group` shows the member the user chose last (or its first); selecting a
 * step elsewhere (a deep link, the step panel) shows the members leading to it.
 *
 * Above the graph, a chip per state counts the steps in it ("8 failed"). Picking one
 * dims the other steps and goes to the next step in that state; "Next" and
 * "Previous" (or n and p) go on from there, opening the collapsed groups and
 * showing the `cf.group` members that hide it, so a failure deep in a fan-out of
 * thousands is one click away.
 */

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { useNow } from "../components/useNow";
import { membersShowing, nextInState } from "../model/groups";
import type { ExecutionState } from "../api/types";
import { formatCount } from "../model/format";
import type { Progress } from "../model/metrics";
import { type RunModel, stepState } from "../model/run";
import { stateInfo } from "../model/states";
import { cycleInState, stateCounts, stepsInState } from "./focus";
import {
  callPaths,
  clippedPath,
  dependencyEdgesInView,
  dependencyRoute,
  type Direction,
  groupsHiding,
  layoutRun,
  NODE_H,
  NODE_W,
  neighbour,
  nodesInView,
} from "./layout";
import { CallGroupHead, GroupNode, StepNode } from "./Node";
import { clampScale, fit, reveal, type Transform, visibleRect, zoomAt } from "./viewport";
import "./graph.css";

interface Props {
  model: RunModel;
  structure: number;
  active: boolean;
  selectedStep: string | null;
  onSelect(stepId: string, how: "click" | "key"): void;
  /** Steps with a progress metric, by id (`progressByStep`): only their nodes draw a bar. */
  progress?: ReadonlyMap<string, Progress>;
}

const KEYS: Record<string, Direction> = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" };

export function Graph({ model, structure, active, selectedStep, onSelect, progress }: Props) {
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const [shown, setShown] = useState<ReadonlyMap<string, string>>(() => new Map());
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const layout = useMemo(() => layoutRun(model, { expanded, shown }), [model, structure, expanded, shown]);
  const container = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ w: 0, h: 0 });
  const [t, setT] = useState<Transform>({ x: 24, y: 24, k: 1 });
  const touched = useRef(false); // the user moved the view: stop auto-fitting
  const drag = useRef<{ x: number; y: number; tx: number; ty: number; moved: boolean } | null>(null);
  const revealNext = useRef<string | null>(null); // a node to bring into view after a relayout
  const revealStep = useRef<string | null>(null); // a step jumped to: into view after a relayout
  const now = useNow(active);
  const selectedKey = selectedStep ? (layout.nodeOfStep.get(selectedStep) ?? null) : null;
  const [picked, setPicked] = useState<ExecutionState | null>(null);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const counts = useMemo(() => stateCounts(model), [model, model.version]);
  // A state no step is in any more (the running ones finished) filters nothing.
  const focus = picked !== null && counts.some(([state]) => state === picked) ? picked : null;

  // A step selected inside a group (or below one of its members) is shown.
  useEffect(() => {
    if (!selectedStep) return;
    const wanted = membersShowing(model, selectedStep).filter(([key, id]) => shown.get(key) !== id);
    if (wanted.length > 0) setShown((current) => new Map([...current, ...wanted]));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedStep, model, structure]);

  useLayoutEffect(() => {
    const el = container.current;
    if (!el) return;
    const measure = () => setSize({ w: el.clientWidth, h: el.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Until the user moves it, the view follows the graph as it fills in.
  useLayoutEffect(() => {
    if (!touched.current && size.w > 0) setT(fit(layout.width, layout.height, size.w, size.h));
  }, [layout, size.w, size.h]);

  // After a group opens or closes, keep its first node in view (the layout moved);
  // after a jump to a state opened groups, the step jumped to.
  useLayoutEffect(() => {
    const key = revealNext.current ?? (revealStep.current ? layout.nodeOfStep.get(revealStep.current) : null);
    const node = key ? layout.byKey.get(key) : undefined;
    revealNext.current = revealStep.current = null;
    if (node && size.w > 0) setT((c) => reveal(c, { x: node.x, y: node.y, width: NODE_W, height: NODE_H }, size.w, size.h));
  }, [layout, size.w, size.h]);

  // Bring the selected node into view (deep links, keyboard moves, jumps to a state)
  // when the selection moves, not on every relayout: opening a group must keep the
  // group's first member in view (above), even when the selected caller is far away.
  useEffect(() => {
    if (!selectedKey || size.w === 0) return;
    const node = layout.byKey.get(selectedKey);
    if (node) setT((current) => reveal(current, { x: node.x, y: node.y, width: NODE_W, height: NODE_H }, size.w, size.h));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedKey, size.w, size.h]);

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      touched.current = true;
      const rect = el.getBoundingClientRect();
      if (event.ctrlKey || event.metaKey) {
        const factor = Math.exp(-event.deltaY * 0.002);
        setT((c) => zoomAt(c, factor, event.clientX - rect.left, event.clientY - rect.top));
      } else {
        setT((c) => ({ ...c, x: c.x - event.deltaX, y: c.y - event.deltaY }));
      }
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, []);

  const zoom = (factor: number) => {
    touched.current = true;
    setT((c) => zoomAt(c, factor, size.w / 2, size.h / 2));
  };
  const refit = () => {
    touched.current = false;
    setT(fit(layout.width, layout.height, size.w, size.h, 0.2));
  };

  const toggleGroup = (key: string) => {
    const next = new Set(expanded);
    const group = layout.byKey.get(key);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    // Expanding: show the first member; collapsing (from a member): show the group.
    revealNext.current = group?.kind === "group" ? (group.members[0]?.id ?? null) : key;
    touched.current = true;
    setExpanded(next);
  };

  /** Show the member at `position` of a `cf.group`, and select it. */
  const showMember = (key: string, position: number, how: "click" | "key") => {
    const member = layout.byKey.get(key)?.callGroup?.members[position];
    if (!member) return;
    setShown((current) => new Map(current).set(key, member.id));
    onSelect(member.id, how);
  };
  const moveMember = (key: string, delta: number, how: "click" | "key") => {
    const group = layout.byKey.get(key)?.callGroup;
    if (group) showMember(key, (group.shown + delta + group.members.length) % group.members.length, how);
  };

  /** Select the step in `state` after (or before) the selected one, opening what hides it. */
  const jump = (state: ExecutionState, direction: 1 | -1) => {
    const target = cycleInState(model, state, selectedStep, direction);
    if (!target) return;
    const hiding = groupsHiding(model, target.id).filter((key) => !expanded.has(key));
    if (hiding.length > 0) setExpanded(new Set([...expanded, ...hiding]));
    touched.current = true; // keep the view on the step, not on the whole graph
    revealStep.current = target.id; // wherever the groups opened or shown put it
    onSelect(target.id, "click");
  };
  const pick = (state: ExecutionState) => {
    if (focus === state) return setPicked(null);
    setPicked(state);
    jump(state, 1);
  };

  const activate = (target: Element | null) => {
    const control = target?.closest("[data-member-move], [data-member-state]");
    const groupOf = control?.closest("[data-call-group]")?.getAttribute("data-call-group");
    if (control && groupOf) {
      const move = control.getAttribute("data-member-move");
      if (move) return moveMember(groupOf, Number(move), "click");
      const group = layout.byKey.get(groupOf)?.callGroup;
      const next = group ? nextInState(group.members, group.shown, control.getAttribute("data-member-state") ?? "") : null;
      if (next !== null) showMember(groupOf, next, "click");
      return;
    }
    const collapse = target?.closest("[data-collapse]")?.getAttribute("data-collapse");
    if (collapse) return toggleGroup(collapse);
    const group = target?.closest("[data-group]")?.getAttribute("data-group");
    if (group) return toggleGroup(group);
    const step = target?.closest("[data-step]")?.getAttribute("data-step");
    if (step) onSelect(step, "click");
  };

  const onPointerDown = (event: PointerEvent) => {
    if (event.button !== 0) return;
    drag.current = { x: event.clientX, y: event.clientY, tx: t.x, ty: t.y, moved: false };
  };
  const onPointerMove = (event: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const dx = event.clientX - d.x;
    const dy = event.clientY - d.y;
    if (!d.moved && Math.hypot(dx, dy) < 4) return;
    if (!d.moved) (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
    d.moved = true;
    touched.current = true;
    setT((c) => ({ ...c, x: d.tx + dx, y: d.ty + dy }));
  };
  const onPointerUp = (event: PointerEvent) => {
    const d = drag.current;
    drag.current = null;
    if (d && !d.moved) activate(event.target as Element);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const direction = KEYS[event.key];
    if (direction && event.shiftKey) {
      event.preventDefault();
      touched.current = true;
      const step = 80;
      const dx = direction === "left" ? step : direction === "right" ? -step : 0;
      const dy = direction === "up" ? step : direction === "down" ? -step : 0;
      setT((c) => ({ ...c, x: c.x + dx, y: c.y + dy }));
    } else if (direction) {
      event.preventDefault();
      const from = selectedKey ?? layout.nodes[0]?.key;
      if (!from) return;
      const next = selectedKey ? neighbour(layout, from, direction) : from;
      const node = next ? layout.byKey.get(next) : undefined;
      if (node) onSelect(node.kind === "group" ? (node.members[0]?.id ?? node.step.id) : node.step.id, "key");
    } else if (event.key === "Enter" || event.key === " ") {
      const node = selectedKey ? layout.byKey.get(selectedKey) : undefined;
      if (node?.kind === "group") {
        event.preventDefault();
        toggleGroup(node.key);
      }
    } else if ((event.key === "[" || event.key === "]") && selectedKey && layout.byKey.get(selectedKey)?.callGroup) {
      event.preventDefault();
      moveMember(selectedKey, event.key === "]" ? 1 : -1, "key");
    } else if ((event.key === "n" || event.key === "p") && focus) {
      event.preventDefault();
      jump(focus, event.key === "n" ? 1 : -1);
    } else if (event.key === "+" || event.key === "=") zoom(1.25);
    else if (event.key === "-") zoom(0.8);
    else if (event.key === "0") refit();
  };

  const view = visibleRect(t, size.w, size.h);
  const nodes = nodesInView(layout, view);
  const calls = callPaths(layout, view, nodes);
  const dependencies = dependencyEdgesInView(layout, nodes, selectedKey);
  const hiddenSteps = model.order.length - layout.nodes.filter((n) => n.kind === "step").length;
  const focused = focus ? stepsInState(model, focus) : [];
  const focusAt = focus && selectedStep ? focused.findIndex((s) => s.id === selectedStep) : -1;

  return (
    <div class="graph">
      <div
        ref={container}
        class="graph-canvas"
        tabIndex={0}
        role="group"
        aria-roledescription="graph"
        aria-label={`Steps of the run: ${model.order.length}. Arrow keys select steps; [ and ] move through a group; n and p go to the next and previous step in the state picked; Shift+arrows pan; + and - zoom; 0 fits.`}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={() => (drag.current = null)}
        onKeyDown={onKeyDown}
      >
        <svg width={size.w} height={size.h} class="graph-svg">
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
            </marker>
          </defs>
          <g transform={`translate(${t.x},${t.y}) scale(${t.k})`}>
            {calls.map((call) => (
              <path key={call.key} d={call.d} class="edge call" marker-end={call.arrow ? "url(#arrow)" : undefined} />
            ))}
            {dependencies.map((edge) => {
              const route = dependencyRoute(layout, edge);
              const path = route && clippedPath(route, view);
              return path ? (
                <path key={`dep:${edge.from}>${edge.to}`} d={path.d} class="edge dependency" marker-end={path.endVisible ? "url(#arrow)" : undefined} />
              ) : null;
            })}
            {nodes.map((node) =>
              node.kind === "group" ? (
                <GroupNode
                  key={node.key}
                  node={node}
                  selected={node.key === selectedKey}
                  dimmed={focus !== null && !node.members.some((m) => stepState(m) === focus)}
                />
              ) : (
                <g key={node.key}>
                  {node.callGroup && <CallGroupHead node={node} group={node.callGroup} />}
                  <StepNode
                    node={node}
                    selected={node.key === selectedKey}
                    now={now}
                    progress={progress?.get(node.step.id)}
                    dimmed={focus !== null && stepState(node.step) !== focus}
                  />
                </g>
              ),
            )}
          </g>
        </svg>
      </div>
      <div class="graph-states" role="toolbar" aria-label="Steps by state">
        {counts.map(([state, n]) => (
          <button
            key={state}
            type="button"
            class={`small state-chip state-${state}`}
            data-state={state}
            aria-pressed={focus === state}
            title={focus === state ? "Show every step" : `Show the ${stateInfo(state).label} steps and go to the next`}
            onClick={() => pick(state)}
          >
            <span class="state-chip-glyph" aria-hidden="true">
              {stateInfo(state).glyph}
            </span>{" "}
            {formatCount(n)} {stateInfo(state).label}
          </button>
        ))}
        {focus && focused.length > 0 && (
          <span class="graph-states-step row">
            <button type="button" class="small" title="Previous (p)" onClick={() => jump(focus, -1)}>
              ‹ Previous {stateInfo(focus).label}
            </button>
            <span class="faint" aria-live="polite">
              {focusAt >= 0 ? `${formatCount(focusAt + 1)} of ${formatCount(focused.length)}` : `${formatCount(focused.length)} ${stateInfo(focus).label}`}
            </span>
            <button type="button" class="small" title="Next (n)" onClick={() => jump(focus, 1)}>
              Next {stateInfo(focus).label} ›
            </button>
          </span>
        )}
      </div>
      <div class="graph-tools" role="toolbar" aria-label="Graph view">
        <button type="button" class="icon" aria-label="Zoom in" title="Zoom in (+)" onClick={() => zoom(1.25)}>
          +
        </button>
        <button type="button" class="icon" aria-label="Zoom out" title="Zoom out (-)" onClick={() => zoom(0.8)}>
          −
        </button>
        <button type="button" class="small" aria-label="Fit to view" title="Fit (0)" onClick={refit}>
          Fit
        </button>
        {expanded.size > 0 && (
          <button type="button" class="small" onClick={() => setExpanded(new Set())}>
            Collapse groups
          </button>
        )}
        <span class="graph-zoom faint" aria-live="off">
          {Math.round(clampScale(t.k) * 100)}%
        </span>
      </div>
      <div class="graph-legend faint" aria-hidden="true">
        <span>
          <svg width="26" height="8">
            <line x1="0" y1="4" x2="26" y2="4" class="edge call" />
          </svg>{" "}
          call
        </span>
        <span>
          <svg width="26" height="8">
            <line x1="0" y1="4" x2="26" y2="4" class="edge dependency" />
          </svg>{" "}
          result used
        </span>
        {hiddenSteps > 0 && <span>{hiddenSteps.toLocaleString("en-GB")} steps hidden in groups</span>}
      </div>
    </div>
  );
}
