/**
 * A project's environments and how they have been doing lately: runs by state over
 * the last 24 hours (and, in full, 7 days), failures first and highlighted, the
 * agents connected now, and a link straight to the newest failed run. Compact on the
 * projects page (a line per environment), a table on the project's own page.
 */

import type { EnvironmentActivity, ProjectActivity, RunSummary } from "../api/types";
import { stateInfo } from "../model/states";
import { FAILURE_STATES, failureCount, failuresFirst, orderedCounts, type StateCounts, timeAgo, totalCount } from "./activity";
import "./Activity.css";
import { Link } from "./Link";

/** The counts of one window, one badge per state: "✕ 2" reads without colour too. */
export function StateCountsView({ counts, window }: { counts: StateCounts; window: string }) {
  const shown = orderedCounts(counts);
  if (shown.length === 0) return <span class="faint activity-none">no runs</span>;
  return (
    <span class="activity-counts" role="list" aria-label={`Runs in the ${window}`}>
      {shown.map(([state, n]) => {
        const info = stateInfo(state);
        const failure = FAILURE_STATES.has(state);
        return (
          <span
            key={state}
            role="listitem"
            class={`badge state-${state} activity-count${failure ? " activity-failure" : ""}`}
            data-state={state}
            data-count={n}
            title={`${n} ${info.label} in the ${window}`}
          >
            <span aria-hidden="true">{info.glyph}</span>
            <span class="activity-number">{n}</span>
            <span class="visually-hidden"> {info.label}</span>
          </span>
        );
      })}
    </span>
  );
}

export function AgentsView({ agents }: { agents: number }) {
  return (
    <span class={`activity-agents${agents === 0 ? " faint" : ""}`} data-agents={agents} title="Agents connected now">
      {agents === 0 ? "no agents" : agents === 1 ? "1 agent" : `${agents} agents`}
    </span>
  );
}

/** One click to the newest failed run's page. */
export function NewestFailure({ project, run, now }: { project: string; run: RunSummary | null; now: number }) {
  if (!run) return <span class="faint">no failures</span>;
  const when = run.completed_at ?? run.created_at;
  return (
    <Link
      class="newest-failure"
      to={{ page: "run", project, environment: run.environment, run: run.id, step: null, view: "graph" }}
      title={`Run ${run.id} of ${run.repository}/${run.target} failed`}
      data-run={run.id}
    >
      Newest failure: <span class="mono">{run.target}</span> · {timeAgo(when, now)}
    </Link>
  );
}

function EnvironmentName({ project, activity }: { project: string; activity: EnvironmentActivity }) {
  return (
    <>
      <Link to={{ page: "environment", project, environment: activity.environment }} class="activity-env">
        {activity.environment}
      </Link>
      {activity.status !== "active" && <span class={`badge env-status-${activity.status}`}>{activity.status}</span>}
    </>
  );
}

const failing = (e: EnvironmentActivity) => failureCount(e.last_day) > 0;

/** A line per environment, for the projects page: the last day's counts. */
export function CompactActivity({ project, activity }: { project: string; activity: ProjectActivity }) {
  if (activity.environments.length === 0) return <span class="faint">No environments yet.</span>;
  return (
    <ul class="activity-compact" aria-label={`Activity of ${project}`}>
      {failuresFirst(activity.environments).map((e) => (
        <li key={e.environment} class={failing(e) ? "activity-failing" : undefined} data-environment={e.environment}>
          <EnvironmentName project={project} activity={e} />
          <StateCountsView counts={e.last_day} window="last 24 hours" />
          <AgentsView agents={e.agents} />
          <NewestFailure project={project} run={e.newest_failure} now={activity.at} />
        </li>
      ))}
    </ul>
  );
}

/** A table of the environments, for the project's page: both windows, in full. */
export function ActivityTable({ project, activity }: { project: string; activity: ProjectActivity }) {
  if (activity.environments.length === 0) return null;
  return (
    <div class="card activity-card">
      <table class="data activity-table" aria-label="Recent activity">
        <thead>
          <tr>
            <th>Environment</th>
            <th>Last 24 hours</th>
            <th>Last 7 days</th>
            <th>Agents</th>
            <th>Newest failure</th>
          </tr>
        </thead>
        <tbody>
          {failuresFirst(activity.environments).map((e) => (
            <tr key={e.environment} class={failing(e) ? "activity-failing" : undefined} data-environment={e.environment}>
              <td>
                <EnvironmentName project={project} activity={e} />
              </td>
              <td>
                <StateCountsView counts={e.last_day} window="last 24 hours" />
                {totalCount(e.last_day) > 0 && <span class="faint activity-total"> {totalCount(e.last_day)} runs</span>}
              </td>
              <td>
                <StateCountsView counts={e.last_week} window="last 7 days" />
              </td>
              <td>
                <AgentsView agents={e.agents} />
              </td>
              <td>
                <NewestFailure project={project} run={e.newest_failure} now={activity.at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
