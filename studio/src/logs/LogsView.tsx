/**
 * Logs of the whole run or of one step, live: level, time since the run started,
 * the step, and the message with its structured values filled in (and kept
 * distinguishable).
 *
 * Searching (text and a minimum level) asks the server, which searches the whole
 * run however long its logs (`logs/search.ts`), and keeps the lines that arrive
 * live filtered the same way. Following (a live tail) keeps the newest line in
 * view, and stops when the reader scrolls up to read. Download saves the lines
 * shown (filtered, if searching) as a text file.
 */

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { saveBlob } from "../api/download";
import { Link } from "../components/Link";
import type { RunLive } from "../live/run";
import { formatOffset, formatTime } from "../model/format";
import {
  isFiltering,
  keepsLine,
  type LogFilter,
  type LogLine,
  logFileName,
  logFileText,
  MINIMUM_LEVELS,
  type MinimumLevel,
  mergeLines,
  NO_FILTER,
} from "../model/logs";
import { stepIdOf } from "../model/ids";
import type { RunModel } from "../model/run";
import { renderTemplate, toDisplay, toText } from "../model/values";
import type { Route } from "../router";
import { SEARCH_CAP, useLogSearch } from "./search";
import "./logs.css";

const SHOWN = 2000;
/** How close to the end (px) still counts as at the end. */
const AT_END = 24;

interface Props {
  live: RunLive;
  model: RunModel;
  /** Only this step's lines, or the whole run's when null. */
  stepId: string | null;
  stepRoute(stepId: string): Route;
  compact?: boolean;
}

export function LogsView({ live, model, stepId, stepRoute, compact }: Props) {
  const [filter, setFilter] = useState<LogFilter>(NO_FILTER);
  const [follow, setFollow] = useState(true);
  const [limit, setLimit] = useState(SHOWN);
  const scroller = useRef<HTMLDivElement>(null);
  useEffect(() => live.wantLogs(), [live]);

  const searching = isFiltering(filter);
  const search = useLogSearch(live.project.project, live.runId, filter);
  const ofStep = (line: LogLine) => stepId === null || stepIdOf(line.execution_id) === stepId;
  const loaded = live.logs.lines.filter((line) => ofStep(line) && keepsLine(filter, line));
  const lines = searching ? mergeLines(search.lines.filter(ofStep), loaded) : loaded;
  const shown = lines.length > limit ? lines.slice(lines.length - limit) : lines;

  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [shown.length, live.logs.version, follow]);

  const prefix = `log${compact ? "-step" : ""}`;
  const stepLabel = (executionId: string) => {
    const step = model.steps.get(stepIdOf(executionId));
    return step ? `${step.target} #${step.number} (${executionId})` : executionId;
  };
  const download = () => {
    const text = logFileText(lines, stepLabel);
    saveBlob(new Blob([text], { type: "text/plain;charset=utf-8" }), logFileName(stepId ?? live.runId, filter));
  };
  const status = (() => {
    if (live.logsLoading && lines.length === 0) return "Loading logs…";
    if (searching && search.loading) return "Searching…";
    const count = lines.length.toLocaleString("en-GB");
    if (!searching) return `${count} lines`;
    return `${count} matching line${lines.length === 1 ? "" : "s"}${search.capped ? ` (the first ${SEARCH_CAP.toLocaleString("en-GB")} of more)` : ""}`;
  })();

  return (
    <div class={`logs${compact ? " compact" : ""}`}>
      <Toolbar
        prefix={prefix}
        stepId={stepId}
        filter={filter}
        onFilter={setFilter}
        follow={follow}
        onFollow={setFollow}
        canDownload={lines.length > 0}
        onDownload={download}
        status={status}
      />
      {search.error && (
        <p class="notice error logs-error" role="alert">
          Searching the server failed ({search.error}); showing the matching lines loaded here.
        </p>
      )}
      <div
        class="logs-scroll"
        ref={scroller}
        tabIndex={0}
        aria-label={stepId ? "Logs of this step" : "Logs of the run"}
        onScroll={(e) => {
          const el = e.currentTarget as HTMLDivElement;
          const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < AT_END;
          // Scrolling up to read stops following; scrolling back to the end resumes.
          if (atEnd !== follow) setFollow(atEnd);
        }}
      >
        {lines.length > shown.length && (
          <button type="button" class="small ghost logs-more" onClick={() => setLimit(limit + SHOWN)}>
            Show {Math.min(SHOWN, lines.length - shown.length).toLocaleString("en-GB")} earlier lines
          </button>
        )}
        {shown.length === 0 && !live.logsLoading && !(searching && search.loading) && (
          <p class="faint logs-empty">{searching ? "No lines match." : `No log lines${stepId ? " for this step" : ""} yet.`}</p>
        )}
        <ol class="log-lines" aria-label="Log lines">
          {shown.map((line) => (
            <Line key={line.key} line={line} model={model} showStep={stepId === null} stepRoute={stepRoute} />
          ))}
        </ol>
      </div>
    </div>
  );
}

interface ToolbarProps {
  prefix: string;
  stepId: string | null;
  filter: LogFilter;
  onFilter(filter: LogFilter): void;
  follow: boolean;
  onFollow(follow: boolean): void;
  canDownload: boolean;
  onDownload(): void;
  status: string;
}

/** Search, level, follow and download, and how many lines are shown. */
function Toolbar({ prefix, stepId, filter, onFilter, follow, onFollow, canDownload, onDownload, status }: ToolbarProps) {
  return (
    <div class="logs-toolbar row wrap">
      <label for={`${prefix}-search`} class="visually-hidden">
        Search logs
      </label>
      <input
        id={`${prefix}-search`}
        class="logs-search"
        type="search"
        placeholder={stepId ? "Search this step's logs" : "Search logs (all steps)"}
        value={filter.text}
        onInput={(e) => onFilter({ ...filter, text: (e.target as HTMLInputElement).value })}
      />
      <label for={`${prefix}-level`} class="faint">
        Show
      </label>
      <select id={`${prefix}-level`} value={filter.minimum} onChange={(e) => onFilter({ ...filter, minimum: (e.target as HTMLSelectElement).value as MinimumLevel })}>
        {MINIMUM_LEVELS.map((level) => (
          <option key={level.value} value={level.value}>
            {level.label}
          </option>
        ))}
      </select>
      <label class="logs-follow">
        <input type="checkbox" checked={follow} onChange={(e) => onFollow((e.target as HTMLInputElement).checked)} />
        Follow
      </label>
      <button type="button" class="small" onClick={onDownload} disabled={!canDownload} title="Save the lines shown as a text file">
        ⤓ Download
      </button>
      <span class="spacer" />
      <span class="faint" role="status" aria-live="polite">
        {status}
      </span>
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
