/**
 * What a run page shows while the run's snapshot loads: the run's summary (its
 * workflow, state and times) from the run list's search by id, a request that
 * costs the same for a run of 10,000 steps as for one of a single step, where the
 * snapshot (every step, with its values) takes a second or more to arrive and
 * decode. So no run page is blank for that long.
 */

import { api } from "../api/http";
import { Loading } from "../components/Notice";
import { StateBadge } from "../components/StateBadge";
import { useAsync } from "../components/useAsync";
import { formatDateTime } from "../model/format";

export function RunPreview({ project, runId }: { project: string; runId: string }) {
  const summary = useAsync(async () => {
    const found = await api.listRuns(project, new URLSearchParams({ search: runId, limit: "10" }));
    return found.find((run) => run.id === runId) ?? null;
  }, [project, runId]);
  const run = summary.data;
  return (
    <main class="page">
      {run && (
        <header class="run-header" data-testid="run-preview">
          <div class="run-title">
            <div class="faint mono">
              {run.repository} · run {run.id}
            </div>
            <h1 class="mono">{run.target}</h1>
          </div>
          <StateBadge state={run.state} />
          <dl class="run-facts">
            <div>
              <dt>Environment</dt>
              <dd>{run.environment}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{formatDateTime(run.created_at)}</dd>
            </div>
          </dl>
        </header>
      )}
      <Loading label={run ? "Loading its steps…" : "Loading run…"} />
    </main>
  );
}
