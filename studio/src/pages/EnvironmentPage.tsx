/** An environment's overview: its recent runs, live. */

import { Empty, ErrorNotice, Loading } from "../components/Notice";
import { RunsTable } from "../components/RunsTable";
import { useRuns } from "../live/data";
import type { ProjectLive } from "../live/project";
import { useProjectState } from "../live/project";

export function EnvironmentPage({ live, environment }: { live: ProjectLive; environment: string }) {
  const runs = useRuns(live, { environment });
  const { envs } = useProjectState(live);
  const env = live.envByName(environment);
  const base = env?.baseId ? envs?.get(env.baseId)?.name : null;
  return (
    <main class="page">
      <div class="page-head">
        <h1>{environment}</h1>
        {env && env.status !== "active" && <span class={`badge env-status-${env.status}`}>{env.status}</span>}
        {base && <span class="muted">based on {base}</span>}
      </div>
      {envs && !env && <ErrorNotice error={`There is no environment "${environment}" in this project.`} />}
      <section class="section">
        <h2>Recent runs</h2>
        {runs.error && <ErrorNotice error={runs.error} />}
        {!runs.data && !runs.error && <Loading />}
        {runs.data?.length === 0 && <Empty>No runs yet. Pick a workflow in the sidebar and press Run….</Empty>}
        {runs.data && runs.data.length > 0 && (
          <div class="card">
            <RunsTable project={live.project} runs={runs.data} label="Recent runs" />
          </div>
        )}
      </section>
    </main>
  );
}
