/**
 * Logs of the whole run or of one step, live: level, time since the run started,
 * the step, and the message with its structured values filled in (and kept
 * distinguishable). Follows the end while scrolled to the bottom.
 */

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { LogLevel } from "../api/types";
import { Link } from "../components/Link";
import { formatOffset, formatTime } from "../model/format";
import type { LogLine } from "../model/logs";
import { type RunModel, stepIdOf } from "../model/run";
import { renderTemplate, toDisplay, toText } from "../model/values";
import type { RunLive } from "../live/run";
import type { Route } from "../router";

const SHOWN = 2000;

type LevelFilter = "all" | "info" | "warning" | "output";

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, stdout: 1, stderr: 1, info: 1, warning: 2, error: 3 };

function keep(level: LogLevel, filter: LevelFilter): boolean {
  if (filter === "all") return true;
  if (filter === "output") return level === "stdout" || level === "stderr";
  return LEVEL_RANK[level] >= (filter === "warning" ? 2 : 1);
}

interface Props {
  live: RunLive;
  model: RunModel;
  /** Only this step's lines, or the whole run's when null. */
  stepId: string | null;
  stepRoute(stepId: string): Route;
  compact?: boolean;
}

export function LogsView({ live, model, stepId, stepRoute, compact }: Props) {
  const [level, setLevel] = useState<LevelFilter>("all");
  const [limit, setLimit] = useState(SHOWN);
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useEffect(() => live.wantLogs(), [live]);

  const lines = live.logs.lines.filter((line) => (stepId === null || stepIdOf(line.execution_id) === stepId) && keep(line.level, level));
  const shown = lines.length > limit ? lines.slice(lines.length - limit) : lines;

  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [shown.length, live.logs.version]);

  return (
    <div class={`logs${compact ? " compact" : ""}`}>
      <div class="logs-toolbar row">
        <label for={`log-level${compact ? "-step" : ""}`} class="faint">
          Show
        </label>
        <select id={`log-level${compact ? "-step" : ""}`} value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value as LevelFilter)}>
          <option value="all">all levels</option>
          <option value="info">info and above</option>
          <option value="warning">warnings and errors</option>
          <option value="output">stdout and stderr</option>
        </select>
        <span class="spacer" />
        <span class="faint" role="status" aria-live="polite">
          {live.logsLoading && lines.length === 0 ? "Loading logs…" : `${lines.length.toLocaleString("en-GB")} lines`}
        </span>
      </div>
      <div
        class="logs-scroll"
        ref={scroller}
        tabIndex={0}
        aria-label={stepId ? "Logs of this step" : "Logs of the run"}
        onScroll={(e) => {
          const el = e.currentTarget as HTMLDivElement;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {lines.length > shown.length && (
          <button type="button" class="small ghost logs-more" onClick={() => setLimit(limit + SHOWN)}>
            Show {Math.min(SHOWN, lines.length - shown.length).toLocaleString("en-GB")} earlier lines
          </button>
        )}
        {shown.length === 0 && !live.logsLoading && <p class="faint logs-empty">No log lines{stepId ? " for this step" : ""} yet.</p>}
        <ol class="log-lines" aria-label="Log lines">
          {shown.map((line) => (
            <Line key={line.key} line={line} model={model} showStep={stepId === null} stepRoute={stepRoute} />
          ))}
        </ol>
      </div>
    </div>
  );
}

function Line({ line, model, showStep, stepRoute }: { line: LogLine; model: RunModel; showStep: boolean; stepRoute(stepId: string): Route }) {
  const stepId = stepIdOf(line.execution_id);
  const step = model.steps.get(stepId);
  const parts = renderTemplate(line.template, line.values);
  const used = new Set(parts.filter((p): p is { name: string; text: string } => typeof p !== "string").map((p) => p.name));
  const extra = Object.entries(line.values ?? {}).filter(([name]) => !used.has(name));
  return (
    <li class={`log-line level-${line.level}`} data-level={line.level}>
      <time class="log-time mono faint" dateTime={new Date(line.timestamp * 1000).toISOString()} title={formatTime(line.timestamp)}>
        {formatOffset(line.timestamp, model.createdAt)}
      </time>
      <span class="log-level">{line.level}</span>
      {showStep && (
        <Link class="log-step mono" to={stepRoute(stepId)} title={line.execution_id}>
          {step ? `${step.target} #${step.number}` : line.execution_id}
        </Link>
      )}
      <span class="log-message">
        {parts.map((part, i) =>
          typeof part === "string" ? (
            <span key={i}>{part}</span>
          ) : (
            <span key={i} class="log-value" title={part.name}>
              {part.text}
            </span>
          ),
        )}
        {extra.map(([name, value]) => (
          <span key={name} class="log-extra">
            {" "}
            <span class="faint">{name}=</span>
            <span class="log-value">{toText(toDisplay(value))}</span>
          </span>
        ))}
      </span>
    </li>
  );
}
