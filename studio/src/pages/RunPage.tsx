/**
 * A run, live: its header (state, times, counts, Cancel), the inputs waiting for an
 * answer, its metrics, the graph (with progress bars), timeline or logs, and the step
 * panel of the selected step. The URL holds the view and the step, so every step has
 * a link.
 */

import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api/http";
import { Confirm, plural } from "../components/Confirm";
import { Link } from "../components/Link";
import { ErrorNotice, RefusalNotice } from "../components/Notice";
import { StateBadge } from "../components/StateBadge";
import { useNow } from "../components/useNow";
import { Graph } from "../graph/Graph";
import { PendingInputs } from "../inputs/PendingInputs";
import { useManifests } from "../live/data";
import type { ProjectLive } from "../live/project";
import { useProjectState } from "../live/project";
import { useRunLive } from "../live/run";
import { LogsView } from "../logs/LogsView";
import { RunMetrics } from "../metrics/RunMetrics";
import { withDescendants } from "../model/environments";
import { formatDateTime, formatDuration } from "../model/format";
import { progressByStep } from "../model/metrics";
import { buildStepId, stepIdOf, stepNumberOf } from "../model/ids";
import { countSteps, latest, type RunModel, runCompletedAt, runState } from "../model/run";
import { isActive } from "../model/states";
import { href, navigate, type Route, type RunView } from "../router";
import { executionRoute, type RunPlace } from "../step/attempts";
import { StepPanel } from "../step/StepPanel";
import { Timeline } from "../timeline/Timeline";
import { RunPreview } from "./RunPreview";
import { RunSummary } from "./RunSummary";

interface Props {
  live: ProjectLive;
  route: Extract<Route, { page: "run" }>;
}

const VIEWS: Array<{ view: RunView; label: string }> = [
  { view: "graph", label: "Graph" },
  { view: "timeline", label: "Timeline" },
  { view: "logs", label: "Logs" },
];

export function RunPage({ live, route }: Props) {
  const run = useRunLive(live, route.run);
  const { envs } = useProjectState(live);
  const model = run.model;
  const manifests = useManifests(live, model?.environment ?? route.environment);
  const stepId = route.step !== null ? buildStepId(route.run, route.step) : null;
  const step = stepId && model ? model.steps.get(stepId) : undefined;
  const [logStep, setLogStep] = useState<string | null>(null);
  const stepOpen = route.step !== null;
  useEffect(() => {
    if (stepOpen) run.wantAssets();
  }, [run, stepOpen]);
  const book = run.metrics.book;
  // One pass over the executions with metrics, only when they or the steps change.
  const progress = useMemo(
    () =>
      model
        ? progressByStep(book, (id) => {
            const step = model.steps.get(id);
            return step && latest(step)?.id;
          })
        : undefined,
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [book, book.version, model, model?.version],
  );

  // Another step opens at its latest attempt: the attempt shown is the open step's.
  const stepRoute = (id: string): Route => ({ ...route, step: stepNumberOf(id), attempt: null });
  const select = (id: string | null, how: "click" | "key" = "click") => {
    const to = id === null ? { ...route, step: null } : stepRoute(id);
    navigate(href(to), { replace: how === "key" });
  };
  const closePanel = () => {
    select(null);
    // The panel's focus goes with it: hand it back to the view.
    requestAnimationFrame(() => document.querySelector<HTMLElement>(".graph-canvas, .timeline-scroll, .logs-scroll")?.focus());
  };

  if (run.error) {
    return (
      <main class="page">
        <RefusalNotice error={run.error} what="Run" name={route.run} project={live.project} />
      </main>
    );
  }
  if (!model) return <RunPreview project={live.project} runId={route.run} />;
  const parameters = step
    ? manifests.data?.find((m) => m.repository === step.repository)?.targets?.find((t) => t.name === step.target)?.parameters
    : undefined;
  const environments = envs ? withDescendants(envs, model.environment) : [];
  const active = run.active;

  return (
    <div
      class={`run-page${step ? " with-panel" : ""}`}
      onKeyDown={(e) => {
        if (e.key === "Escape" && step) closePanel();
      }}
    >
      <RunHeader project={live.project} model={model} active={active} version={model.version} place={{ project: live.project, environment: route.environment }} />
      <RunSummary model={model} manifests={manifests.data} />
      <div class="run-tabs" role="tablist" aria-label="Run views">
        {VIEWS.map(({ view, label }) => (
          <Link
            key={view}
            role="tab"
            aria-selected={route.view === view}
            class={`run-tab${route.view === view ? " current" : ""}`}
            to={{ ...route, view }}
          >
            {label}
          </Link>
        ))}
        {route.view === "logs" && logStep && (
          <span class="row log-scope">
            <span class="faint">only</span>
            <span class="mono">{model.steps.get(logStep)?.target ?? logStep}</span>
            <button type="button" class="small ghost" onClick={() => setLogStep(null)}>
              show whole run
            </button>
          </span>
        )}
      </div>
      <div class="run-body">
        <div class="run-main">
          <PendingInputs
            project={live.project}
            source={run.inputs}
            locate={(input) => {
              const asked = model.steps.get(stepIdOf(input.execution_id));
              return asked ? { to: stepRoute(asked.id), label: `${asked.target} #${asked.number}` } : null;
            }}
          />
          {!run.metrics.missing && <RunMetrics source={run.metrics} model={model} stepRoute={stepRoute} />}
          <section class="run-view" role="tabpanel" aria-label={route.view}>
            {route.view === "graph" && (
              <Graph
                model={model}
                structure={model.structure}
                active={active}
                selectedStep={stepId}
                onSelect={(id, how) => select(id, how)}
                progress={progress}
              />
            )}
            {route.view === "timeline" && (
              <Timeline model={model} version={model.version} active={active} selectedStep={stepId} onSelect={(id) => select(id)} />
            )}
            {route.view === "logs" && <LogsView live={run} model={model} stepId={logStep} stepRoute={stepRoute} />}
          </section>
        </div>
        {step && (
          <StepPanel
            key={step.id}
            project={live.project}
            runAssets={run.assets}
            metrics={run.metrics}
            inputs={run.inputs}
            model={model}
            step={step}
            parameters={parameters}
            environments={environments}
            stepRoute={stepRoute}
            attempt={route.attempt ?? null}
            onClose={closePanel}
            onShowLogs={() => {
              setLogStep(step.id);
              navigate(href({ ...route, view: "logs" }));
            }}
          />
        )}
        {stepId && !step && (
          <aside class="step-panel">
            <div class="step-body">
              <ErrorNotice error={`Step ${stepId} is not part of this run (yet).`} />
            </div>
          </aside>
        )}
      </div>
    </div>
  );
}

function RunHeader({ project, model, active, version, place }: { project: string; model: RunModel; active: boolean; version: number; place: RunPlace }) {
  const now = useNow(active);
  const state = runState(model);
  const completed = runCompletedAt(model);
  const counts = countSteps(model);
  const [cancelling, setCancelling] = useState(false);
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  void version;
  return (
    <header class="run-header">
      <div class="run-title">
        <div class="faint mono">
          {model.repository} · run {model.id}
        </div>
        <h1 class="mono">{model.target}</h1>
        {model.spawnedBy && (
          <div class="spawned-by" data-testid="spawned-by">
            Spawned by{" "}
            <Link to={executionRoute(place, model.spawnedBy)} class="mono">
              {model.spawnedBy}
            </Link>
          </div>
        )}
      </div>
      <StateBadge state={state} />
      <dl class="run-facts">
        <div>
          <dt>Environment</dt>
          <dd>{model.environment}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatDateTime(model.createdAt)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration((completed ?? now) - model.createdAt)}</dd>
        </div>
        <div>
          <dt>Steps</dt>
          <dd>
            {counts.total.toLocaleString("en-GB")}
            {counts.active > 0 && <span class="faint"> · {counts.active} active</span>}
            {counts.failed > 0 && <span class="faint"> · {counts.failed} failed</span>}
            {counts.timedOut > 0 && <span class="faint"> · {counts.timedOut} timed out</span>}
          </dd>
        </div>
      </dl>
      <span class="spacer" />
      {isActive(state) && (
        <button type="button" class="danger" disabled={cancelling} onClick={() => setAsking(true)}>
          ⊘ Cancel run
        </button>
      )}
      {asking && (
        <Confirm
          title="Cancel run?"
          confirmLabel="Yes, cancel the run"
          declineLabel="No, let it run"
          onDecline={() => setAsking(false)}
          onConfirm={async () => {
            setAsking(false);
            setCancelling(true);
            setError(null);
            try {
              await api.cancelRun(project, model.id);
            } catch (e) {
              setError((e as Error).message);
            } finally {
              setCancelling(false);
            }
          }}
        >
          <p>
            Cancel run <span class="mono">{model.id}</span> and its {plural(counts.active, "unfinished step")}?
          </p>
          <p class="muted">Running steps are stopped and queued ones never start. This cannot be undone; a step can be re-run later.</p>
        </Confirm>
      )}
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </header>
  );
}
