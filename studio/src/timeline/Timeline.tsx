/**
 * The timeline: every execution as a bar on a shared time axis, by step number and
 * attempt, the time it waited in the queue drawn hatched and the time it ran solid,
 * both in the colour of its state (the legend names the states present, each drawn
 * as a piece of bar). Rows are virtualised (only those scrolled into view exist), so
 * long runs stay fast.
 */

import { useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { useNow } from "../components/useNow";
import { formatDuration } from "../model/format";
import type { Execution, RunModel } from "../model/run";
import { isActive, STATE_ORDER, stateInfo } from "../model/states";
import { barClass, timelineRows } from "./rows";
import { type Scale, tickLabel, ticks, tickStep, toX } from "./scale";
import "./timeline.css";

const ROW = 28;
const LABEL = 240;
const OVERSCAN = 10;

interface Props {
  model: RunModel;
  version: number;
  active: boolean;
  selectedStep: string | null;
  onSelect(stepId: string): void;
}

export function Timeline({ model, version, active, selectedStep, onSelect }: Props) {
  const now = useNow(active, 500);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const executions = useMemo(() => timelineRows(model), [model, version]);
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600, width: 800 });

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight, width: el.clientWidth });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  let end = model.createdAt;
  for (const e of executions) end = Math.max(end, e.completedAt ?? (isActive(e.state) ? now : e.createdAt));
  const scale: Scale = { t0: model.createdAt, t1: Math.max(end, model.createdAt + 0.001), width: Math.max(100, view.width - LABEL - 24) };
  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN);
  const last = Math.min(executions.length, Math.ceil((view.top + view.height) / ROW) + OVERSCAN);
  const step = tickStep(scale.t1 - scale.t0);
  const present = new Set(executions.map((e) => e.state));

  return (
    <div class="timeline">
      <div class="timeline-toolbar row faint">
        <span>{executions.length.toLocaleString("en-GB")} executions</span>
        <span class="spacer" />
        <span class="timeline-phase-key">
          <span class={`${barClass("queued", null)} legend-swatch`} aria-hidden="true" /> waiting in the queue
        </span>
        <span class="timeline-phase-key">
          <span class={`${barClass("running", null)} legend-swatch`} aria-hidden="true" /> running
        </span>
        <span class="timeline-states" aria-label="States">
          {STATE_ORDER.filter((state) => present.has(state)).map((state) => (
            <span key={state} class="timeline-state" data-state={state}>
              <span class={`${barClass("running", state)} legend-swatch`} aria-hidden="true" /> {stateInfo(state).label}
            </span>
          ))}
        </span>
      </div>
      <div class="timeline-axis" aria-hidden="true">
        <div class="timeline-axis-label" />
        <div class="timeline-ticks" style={{ width: `${scale.width}px` }}>
          {ticks(scale).map((offset) => (
            <span key={offset} class="tick" style={{ left: `${toX(scale, scale.t0 + offset)}px` }}>
              {tickLabel(offset, step)}
            </span>
          ))}
        </div>
      </div>
      <div
        class="timeline-scroll"
        ref={scroller}
        tabIndex={-1}
        onScroll={(e) => {
          const el = e.currentTarget as HTMLDivElement;
          setView((v) => ({ ...v, top: el.scrollTop }));
        }}
      >
        <div class="timeline-rows" role="list" aria-label="Executions" style={{ height: `${executions.length * ROW}px` }}>
          {executions.slice(first, last).map((execution, i) => (
            <Row
              key={execution.id}
              execution={execution}
              model={model}
              top={(first + i) * ROW}
              scale={scale}
              now={now}
              selected={execution.stepId === selectedStep}
              onSelect={onSelect}
            />
          ))}
        </div>
      </div>
    </div>
  );
}

function Row({
  execution,
  model,
  top,
  scale,
  now,
  selected,
  onSelect,
}: {
  execution: Execution;
  model: RunModel;
  top: number;
  scale: Scale;
  now: number;
  selected: boolean;
  onSelect(stepId: string): void;
}) {
  const step = model.steps.get(execution.stepId);
  const end = execution.completedAt ?? (isActive(execution.state) ? now : execution.createdAt);
  const queuedEnd = execution.assignedAt ?? end;
  const qx = toX(scale, execution.createdAt);
  const qw = Math.max(1, toX(scale, queuedEnd) - qx);
  const rx = execution.assignedAt !== null ? toX(scale, execution.assignedAt) : null;
  const rw = rx !== null ? Math.max(2, toX(scale, end) - rx) : 0;
  const info = stateInfo(execution.state);
  const waited = (execution.assignedAt ?? end) - execution.createdAt;
  const ran = execution.assignedAt !== null ? end - execution.assignedAt : null;
  const label = `${step?.target ?? "?"} #${step?.number ?? "?"} attempt ${execution.attempt}: ${info.label}, queued ${formatDuration(waited)}${ran !== null ? `, ran ${formatDuration(ran)}` : ""}`;
  return (
    <div role="listitem" class={`timeline-row${selected ? " selected" : ""}`} style={{ top: `${top}px` }}>
      <button type="button" class={`timeline-row-button state-${execution.state}`} aria-label={label} title={label} onClick={() => onSelect(execution.stepId)}>
        <span class="timeline-label">
          <span class="timeline-glyph" aria-hidden="true">
            {info.glyph}
          </span>
          <span class="timeline-name">{step?.target ?? execution.id}</span>
          <span class="faint mono">
            #{step?.number}
            {execution.attempt > 1 ? `.${execution.attempt}` : ""}
          </span>
        </span>
        <span class="timeline-track">
          <span class={barClass("queued", execution.state)} style={{ left: `${qx}px`, width: `${qw}px` }} />
          {rx !== null && <span class={barClass("running", execution.state)} style={{ left: `${rx}px`, width: `${rw}px` }} />}
        </span>
      </button>
    </div>
  );
}
