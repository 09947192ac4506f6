/**
 * The step panel: one step's arguments, result or error (with traceback), the inputs
 * it asked for (answerable here), metrics and progress (live), every execution, its
 * options, its caller and group, children, assets and logs, with Re-run and Cancel.
 * Any attempt can be shown (`?attempt=N`: its outcome, agent, times, logs and the
 * execution it stands in for); the latest by default. Escape closes it.
 */

import { useState } from "preact/hooks";
import { api } from "../api/http";
import type { Parameter, RunAssets, Value } from "../api/types";
import { Confirm } from "../components/Confirm";
import { Link } from "../components/Link";
import { StateBadge } from "../components/StateBadge";
import { ValueView, type ValueLinks } from "../components/ValueView";
import { useNow } from "../components/useNow";
import { stepMarkers } from "../graph/Node";
import { StepInputs } from "../inputs/StepInputs";
import type { InputsSource } from "../live/inputs";
import type { MetricsSource } from "../live/metrics";
import { StepMetrics } from "../metrics/StepMetrics";
import type { Env } from "../model/environments";
import { formatCount, formatDuration, formatSeconds, formatTime } from "../model/format";
import { groupLabel, groupMembers, groupSummary } from "../model/groups";
import { optionTags } from "../model/options";
import { runIdOf, stepIdOf } from "../model/ids";
import { type Execution, latest, type RunModel, type Step, stepState } from "../model/run";
import { isActive } from "../model/states";
import { href, type Route } from "../router";
import { Assets } from "./Assets";
import { AttemptFacts, AttemptLogs, AttemptPicker, StandInLink } from "./Attempts";
import { chosenExecution } from "./attempts";
import { QueuedReason } from "./QueuedReason";
import { Rerun } from "./Rerun";

interface Props {
  project: string;
  /** The run's assets (null while loading or when the server cannot list them). */
  runAssets: RunAssets | null;
  /** The run's metrics (absent: none shown). */
  metrics?: MetricsSource;
  /** The run's input prompts (absent: none shown). */
  inputs?: InputsSource;
  model: RunModel;
  step: Step;
  parameters: Parameter[] | undefined;
  environments: Env[];
  stepRoute(stepId: string): Route;
  /** The attempt to show (from the URL); absent or null: the latest. */
  attempt?: number | null;
  onClose(): void;
  onShowLogs(): void;
}

const CHILDREN_SHOWN = 100;

export function StepPanel({ project, runAssets, metrics, inputs, model, step, parameters, environments, stepRoute, attempt, onClose, onShowLogs }: Props) {
  const execution = latest(step);
  const shown = chosenExecution(step, attempt);
  const attemptRoute = (n: number | null): Route => {
    const to = stepRoute(step.id);
    return to.page === "run" ? { ...to, attempt: n } : to;
  };
  const place = { project, environment: model.environment };
  const state = stepState(step);
  const active = isActive(state);
  const links: ValueLinks = {
    execution: (id) => (runIdOf(id) === model.id && model.steps.has(stepIdOf(id)) ? href(stepRoute(stepIdOf(id))) : null),
  };
  const assetIds = collectAssets(step, runAssets);
  const children = model.children.get(step.id) ?? [];
  const parent = step.parentStep ? model.steps.get(step.parentStep) : undefined;
  const markers = stepMarkers(step);
  const options = optionTags(step.options);
  const members = groupMembers(model, step);
  return (
    <aside
      class="step-panel"
      aria-labelledby="step-title"
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <header class="step-head">
        <div class="step-head-main">
          <div class="faint mono">
            {step.repository} · {step.id}
          </div>
          <h2 id="step-title" class="mono" tabIndex={-1}>
            {step.target}
          </h2>
          <div class="row wrap">
            <StateBadge state={state} />
            <span class="tag">{step.type}</span>
            {members.length > 0 && <span class="tag">group {groupLabel(step)}</span>}
            {markers.map((m) => (
              <span key={m} class="tag">
                {m}
              </span>
            ))}
          </div>
        </div>
        <button type="button" class="icon ghost" aria-label="Close step panel" title="Close (Esc)" onClick={onClose}>
          ✕
        </button>
      </header>
      <div class="step-body">
        <section class="step-section" aria-label="Actions">
          <div class="row wrap">
            <Rerun
              project={project}
              stepId={step.id}
              step={step}
              environments={environments}
              defaultEnvironment={model.environment}
              onStarted={() => undefined}
            />
            {active && execution && <CancelButton project={project} executionId={execution.id} />}
          </div>
        </section>

        <section class="step-section">
          <h3>Arguments</h3>
          {step.arguments.length === 0 ? (
            <p class="faint">None.</p>
          ) : (
            <dl class="arguments">
              {step.arguments.map((value, i) => (
                <div key={i} class="argument">
                  <dt class="mono">{parameters?.[i]?.name ?? `argument ${i + 1}`}</dt>
                  <dd>
                    <ValueView value={value} links={links} />
                  </dd>
                </div>
              ))}
            </dl>
          )}
        </section>

        <section class="step-section" aria-label="Attempt">
          <AttemptPicker step={step} shown={shown} attemptRoute={attemptRoute} />
          <h3>
            {shown?.outcome?.tag === "failed" || shown?.outcome?.tag === "timed_out" ? "Error" : "Result"}
            {shown && shown !== execution && <span class="faint"> of attempt {shown.attempt}</span>}
          </h3>
          <Outcome execution={shown} links={links} />
          {shown && <StandInLink place={place} execution={shown} />}
          {shown && <QueuedReason project={project} runId={model.id} execution={shown} />}
          {shown && step.executions.length > 1 && <AttemptFacts execution={shown} />}
          {shown && step.executions.length > 1 && (
            <div class="row">
              <AttemptLogs key={shown.id} project={project} runId={model.id} execution={shown} runStart={model.createdAt} />
            </div>
          )}
        </section>

        {inputs && <StepInputs project={project} source={inputs} step={step} links={links} />}

        {metrics && <StepMetrics source={metrics} step={step} />}

        <section class="step-section">
          <h3>Executions</h3>
          <Executions step={step} shown={shown} attemptRoute={attemptRoute} />
        </section>

        {options.length > 0 && (
          <section class="step-section">
            <h3>Options</h3>
            <div class="row wrap" aria-label="Options">
              {options.map((tag) => (
                <span key={tag} class="tag">
                  {tag}
                </span>
              ))}
            </div>
          </section>
        )}

        {(parent || children.length > 0) && (
          <section class="step-section">
            <h3>Calls</h3>
            {parent && (
              <p>
                Called by{" "}
                <Link to={stepRoute(parent.id)} class="mono">
                  {parent.target} #{parent.number}
                </Link>
              </p>
            )}
            {members.length > 0 && (
              <p data-testid="step-group">
                In group <strong>{groupLabel(step)}</strong>, step {formatCount(members.indexOf(step) + 1)} of {formatCount(members.length)}
                <span class="faint"> ({groupSummary(members)})</span>
              </p>
            )}
            {children.length > 0 && (
              <ul class="children" aria-label="Steps this step called">
                {children.slice(0, CHILDREN_SHOWN).map((child) => (
                  <li key={child.id} class="row">
                    <Link to={stepRoute(child.id)} class="mono">
                      {child.target} #{child.number}
                    </Link>
                    <span class="spacer" />
                    <StateBadge state={stepState(child)} />
                  </li>
                ))}
                {children.length > CHILDREN_SHOWN && <li class="faint">+ {children.length - CHILDREN_SHOWN} more</li>}
              </ul>
            )}
          </section>
        )}

        {assetIds.length > 0 && (
          <section class="step-section">
            <h3>Assets</h3>
            <Assets project={project} ids={assetIds} />
          </section>
        )}

        <section class="step-section">
          <div class="row">
            <h3>Logs</h3>
            <span class="spacer" />
            <button type="button" class="small" onClick={onShowLogs}>
              Show this step's logs
            </button>
          </div>
        </section>
      </div>
    </aside>
  );
}

/** Assets this step's executions persisted or restored, or that its values refer to. */
export function collectAssets(step: Step, runAssets: RunAssets | null): string[] {
  const ids = new Set<string>();
  const executions = new Set(step.executions.map((e) => e.id));
  for (const asset of runAssets?.assets ?? []) if (executions.has(asset.execution_id)) ids.add(asset.id);
  for (const restore of runAssets?.restores ?? []) if (executions.has(restore.execution_id)) ids.add(restore.asset_id);
  const add = (value: Value | undefined) => value?.assets?.forEach((id) => ids.add(id));
  for (const execution of step.executions) if (execution.outcome?.tag === "succeeded") add(execution.outcome.value);
  step.arguments.forEach(add);
  return [...ids];
}

function Outcome({ execution, links }: { execution: Execution | undefined; links: ValueLinks }) {
  if (!execution) return <p class="faint">No execution yet.</p>;
  const outcome = execution.outcome;
  if (!outcome) {
    if (isActive(execution.state)) return <p class="faint">Not finished yet ({execution.state === "queued" ? "queued" : "running"}).</p>;
    return <p class="faint">No result recorded ({execution.state}).</p>;
  }
  switch (outcome.tag) {
    case "succeeded":
      return (
        <div class="result" data-testid="step-result">
          <ValueView value={outcome.value} links={links} />
        </div>
      );
    case "failed":
      return (
        <div class="error-box" role="group" aria-label="Error">
          <p>
            <strong class="mono">{outcome.error.type}</strong>: {outcome.error.message}
          </p>
          {outcome.error.traceback && (
            <details open>
              <summary>Traceback</summary>
              <pre class="traceback">{outcome.error.traceback}</pre>
            </details>
          )}
        </div>
      );
    case "cancelled":
      return <p class="muted">Cancelled.</p>;
    case "abandoned":
      return <p class="muted">Abandoned: its agent stopped responding.</p>;
    case "timed_out":
      return (
        <div class="error-box" role="group" aria-label="Error">
          <p>
            <strong>Timed out</strong>
            {outcome.timeout ? ` after ${formatSeconds(outcome.timeout)}` : ""}: its agent stopped the execution.
          </p>
        </div>
      );
  }
}

function Executions({ step, shown, attemptRoute }: { step: Step; shown: Execution | undefined; attemptRoute(attempt: number | null): Route }) {
  const now = useNow(step.executions.some((e) => isActive(e.state)));
  return (
    <table class="data executions" aria-label="Executions">
      <thead>
        <tr>
          <th>#</th>
          <th>State</th>
          <th>Environment</th>
          <th>Agent</th>
          <th>Queued</th>
          <th>Ran</th>
        </tr>
      </thead>
      <tbody>
        {step.executions.map((e) => {
          const end = e.completedAt ?? (isActive(e.state) ? now : null);
          const waited = (e.assignedAt ?? end ?? now) - e.createdAt;
          return (
            <tr key={e.id} data-execution={e.id} class={e === shown ? "selected" : undefined} aria-current={e === shown ? "true" : undefined}>
              <td class="mono">
                <Link to={attemptRoute(e === latest(step) ? null : e.attempt)} aria-label={`Show attempt ${e.attempt}`}>
                  {e.attempt}
                </Link>
              </td>
              <td>
                <StateBadge state={e.state} />
              </td>
              <td>{e.environment}</td>
              <td class="mono faint" title={e.sessionId ?? undefined}>
                {e.sessionId ? e.sessionId.slice(0, 8) : "–"}
              </td>
              <td class="muted" title={`created ${formatTime(e.createdAt)}`}>
                {formatDuration(waited)}
              </td>
              <td class="muted" title={e.assignedAt ? `started ${formatTime(e.assignedAt)}` : undefined}>
                {e.assignedAt !== null && end !== null ? formatDuration(end - e.assignedAt) : "–"}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function CancelButton({ project, executionId }: { project: string; executionId: string }) {
  const [busy, setBusy] = useState(false);
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const cancel = async () => {
    setAsking(false);
    setBusy(true);
    setError(null);
    try {
      await api.cancelExecution(project, executionId);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="danger" disabled={busy} onClick={() => setAsking(true)}>
        ⊘ Cancel step
      </button>
      {asking && (
        <Confirm title="Cancel step?" confirmLabel="Yes, cancel the step" declineLabel="No, let it run" onDecline={() => setAsking(false)} onConfirm={cancel}>
          <p>
            Cancel execution <span class="mono">{executionId}</span> and the unfinished steps it started?
          </p>
          <p class="muted">A running execution is stopped, and its caller sees it cancelled. This cannot be undone; the step can be re-run later.</p>
        </Confirm>
      )}
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}
