/** An environment's overview: the inputs waiting for an answer in it, and its runs
 * through all of history, filtered, live. */

import { ErrorNotice } from "../components/Notice";
import { RunHistory } from "../components/RunHistory";
import { inputStepRoute, PendingInputs } from "../inputs/PendingInputs";
import { useManifests } from "../live/data";
import { useEnvironmentInputs } from "../live/inputs";
import type { ProjectLive } from "../live/project";
import { useProjectState } from "../live/project";

export function EnvironmentPage({ live, environment }: { live: ProjectLive; environment: string }) {
  const manifests = useManifests(live, environment);
  const inputs = useEnvironmentInputs(live, environment);
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
      <PendingInputs
        project={live.project}
        source={inputs}
        locate={(input) => {
          const to = inputStepRoute(live.project, input);
          return { to, label: `run ${input.run_id}${to.step !== null ? ` · step ${to.step}` : ""}` };
        }}
      />
      <section class="section">
        <h2>Runs</h2>
        <RunHistory
          live={live}
          environment={environment}
          manifests={manifests.data}
          label="Recent runs"
          empty="No runs yet. Pick a workflow in the sidebar and press Run…."
        />
      </section>
    </main>
  );
}
