/**
 * The step panel's view of one attempt: a picker over the step's attempts (links,
 * so the URL names the one shown), the chosen attempt's agent, environment and
 * times, what a stand-in links to, and the attempt's own logs.
 */

import { useEffect, useState } from "preact/hooks";
import { api } from "../api/http";
import type { LogView } from "../api/types";
import { Link } from "../components/Link";
import { StateBadge } from "../components/StateBadge";
import { useNow } from "../components/useNow";
import { formatDuration, formatOffset, formatTime } from "../model/format";
import type { Execution, Step } from "../model/run";
import { isActive } from "../model/states";
import { renderTemplate, toDisplay, toText } from "../model/values";
import type { Route } from "../router";
import { type RunPlace, standIn } from "./attempts";
import "./attempts.css";

/** One link per attempt, the shown one marked; nothing for a step tried once. */
export function AttemptPicker({ step, shown, attemptRoute }: { step: Step; shown: Execution | undefined; attemptRoute(attempt: number | null): Route }) {
  if (step.executions.length < 2) return null;
  const last = step.executions[step.executions.length - 1];
  return (
    <nav class="row wrap attempt-picker" aria-label="Attempts">
      <span class="faint">Attempt</span>
      {step.executions.map((e) => (
        <Link
          key={e.id}
          class={`tag attempt-link state-${e.state}${e === shown ? " current" : ""}`}
          to={attemptRoute(e === last ? null : e.attempt)}
          aria-current={e === shown ? "true" : undefined}
          aria-label={`Attempt ${e.attempt}: ${e.state}${e === last ? " (latest)" : ""}`}
        >
          {e.attempt}
        </Link>
      ))}
    </nav>
  );
}

/** Where and when the attempt ran. */
export function AttemptFacts({ execution }: { execution: Execution }) {
  const now = useNow(isActive(execution.state));
  const end = execution.completedAt ?? (isActive(execution.state) ? now : null);
  const queuedFor = (execution.assignedAt ?? end ?? now) - execution.createdAt;
  return (
    <dl class="attempt-facts" aria-label={`Attempt ${execution.attempt}`}>
      <div>
        <dt>State</dt>
        <dd>
          <StateBadge state={execution.state} />
        </dd>
      </div>
      <div>
        <dt>Environment</dt>
        <dd>{execution.environment}</dd>
      </div>
      <div>
        <dt>Agent session</dt>
        <dd class="mono">{execution.sessionId ?? "–"}</dd>
      </div>
      <div>
        <dt>Queued</dt>
        <dd title={`created ${formatTime(execution.createdAt)}`}>{formatDuration(queuedFor)}</dd>
      </div>
      <div>
        <dt>Ran</dt>
        <dd title={execution.assignedAt !== null ? `started ${formatTime(execution.assignedAt)}` : undefined}>
          {execution.assignedAt !== null && end !== null ? formatDuration(end - execution.assignedAt) : "–"}
        </dd>
      </div>
    </dl>
  );
}

/** For a stand-in, a link to the execution (or run) whose outcome it takes. */
export function StandInLink({ place, execution }: { place: RunPlace; execution: Execution }) {
  const link = standIn(place, execution);
  if (!link) return null;
  return (
    <p class="stand-in" data-testid="stand-in">
      {link.kind === "spawned" && (
        <>
          Spawned run{" "}
          <Link to={link.to} class="mono">
            {link.runId}
          </Link>
        </>
      )}
      {link.kind === "cached" && (
        <>
          Reused the result of{" "}
          <Link to={link.to} class="mono">
            {link.executionId}
          </Link>
        </>
      )}
      {link.kind === "deferred" && (
        <>
          Replaced by the newer call{" "}
          <Link to={link.to} class="mono">
            {link.executionId}
          </Link>
        </>
      )}
    </p>
  );
}

type Loaded = { lines: LogView[]; error: null } | { lines: null; error: string };

/** The attempt's own log lines, read when asked for (and again when it changes state). */
export function AttemptLogs({ project, runId, execution, runStart }: { project: string; runId: string; execution: Execution; runStart: number }) {
  const [open, setOpen] = useState(false);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  useEffect(() => {
    if (!open) return;
    const abort = new AbortController();
    void readAll(project, runId, execution.id, abort.signal).then(
      (lines) => setLoaded({ lines, error: null }),
      (e: Error) => abort.signal.aborted || setLoaded({ lines: null, error: e.message }),
    );
    return () => abort.abort();
  }, [open, project, runId, execution.id, execution.state]);
  if (!open) {
    return (
      <button type="button" class="small" onClick={() => setOpen(true)}>
        Show this attempt's logs
      </button>
    );
  }
  if (!loaded) return <p class="faint">Loading attempt {execution.attempt}'s logs…</p>;
  if (loaded.error !== null) return <p class="field-error">{loaded.error}</p>;
  if (loaded.lines.length === 0) return <p class="faint">No log lines from attempt {execution.attempt}.</p>;
  return (
    <ol class="logs attempt-logs" aria-label={`Logs of attempt ${execution.attempt}`}>
      {loaded.lines.map((line) => (
        <li key={line.id} class={`log-line level-${line.level}`} data-level={line.level}>
          <time class="log-time mono faint" title={formatTime(line.timestamp)}>
            {formatOffset(line.timestamp, runStart)}
          </time>
          <span class="log-level">{line.level}</span>
          <span class="log-message">{messageOf(line)}</span>
        </li>
      ))}
    </ol>
  );
}

/** An attempt's lines are few; read every page (a page ends the lines when empty). */
async function readAll(project: string, runId: string, executionId: string, signal: AbortSignal): Promise<LogView[]> {
  const lines: LogView[] = [];
  let after = 0;
  for (;;) {
    const page = await api.getExecutionLogs(project, runId, executionId, after, signal);
    if (page.logs.length === 0 || page.cursor === after) return lines;
    lines.push(...page.logs);
    after = page.cursor;
  }
}

export function messageOf(line: LogView): string {
  const parts = renderTemplate(line.template, line.values);
  const used = new Set(parts.filter((p): p is { name: string; text: string } => typeof p !== "string").map((p) => p.name));
  const extra = Object.entries(line.values ?? {})
    .filter(([name]) => !used.has(name))
    .map(([name, value]) => ` ${name}=${toText(toDisplay(value))}`);
  return parts.map((p) => (typeof p === "string" ? p : p.text)).join("") + extra.join("");
}
