/** A list of runs: state, workflow, start, duration; kept live by its caller. */

import type { RunSummary } from "../api/types";
import { formatDateTime, formatDuration } from "../model/format";
import { useNow } from "./useNow";
import { Link } from "./Link";
import { StateBadge } from "./StateBadge";

export function RunsTable({ project, runs, showTarget = true, label }: { project: string; runs: RunSummary[]; showTarget?: boolean; label: string }) {
  const anyActive = runs.some((r) => r.completed_at === null);
  const now = useNow(anyActive);
  return (
    <table class="data runs" aria-label={label}>
      <thead>
        <tr>
          <th>Run</th>
          <th>State</th>
          {showTarget && <th>Workflow</th>}
          <th>Started</th>
          <th>Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-run={run.id}>
            <td>
              <Link class="mono" to={{ page: "run", project, environment: run.environment, run: run.id, step: null, view: "graph" }}>
                {run.id}
              </Link>
            </td>
            <td>
              <StateBadge state={run.state} />
            </td>
            {showTarget && (
              <td>
                <span class="mono">
                  {run.repository} / {run.target}
                </span>
              </td>
            )}
            <td class="muted">{formatDateTime(run.created_at)}</td>
            <td class="muted">{formatDuration((run.completed_at ?? now) - run.created_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
