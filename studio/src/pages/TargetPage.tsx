/** A workflow (or sensor): its definition, its runs through all of history (filtered, live) and Run…. */

import { useState } from "preact/hooks";
import type { TargetDefinition } from "../api/types";
import { ErrorNotice } from "../components/Notice";
import { RunHistory } from "../components/RunHistory";
import { useManifests } from "../live/data";
import type { ProjectLive } from "../live/project";
import { optionTags } from "../model/options";
import { RunForm } from "./RunForm";

interface Props {
  live: ProjectLive;
  environment: string;
  repository: string;
  target: string;
}

export function TargetPage({ live, environment, repository, target }: Props) {
  const manifests = useManifests(live, environment);
  const definition = manifests.data?.find((m) => m.repository === repository)?.targets?.find((t) => t.name === target);
  const [running, setRunning] = useState(false);
  return (
    <main class="page">
      <div class="page-head">
        <div>
          <div class="faint mono">{repository}</div>
          <h1 class="mono">{target}</h1>
        </div>
        {definition && <span class="tag">{definition.type}</span>}
        <span class="spacer" />
        {definition?.type === "workflow" && (
          <button type="button" class="primary" onClick={() => setRunning(true)}>
            Run…
          </button>
        )}
      </div>
      {manifests.error && <ErrorNotice error={manifests.error} />}
      {manifests.data && !definition && (
        <ErrorNotice error={`${repository} / ${target} is not registered in ${environment}.`} />
      )}
      {definition && <Definition definition={definition} />}
      <section class="section">
        <h2>Runs</h2>
        <RunHistory
          live={live}
          environment={environment}
          workflow={{ repository, target }}
          label={`Runs of ${target}`}
          empty={`No runs of this workflow in ${environment} yet.`}
        />
      </section>
      {running && definition && (
        <RunForm project={live.project} environment={environment} repository={repository} target={definition} onClose={() => setRunning(false)} />
      )}
    </main>
  );
}

function Definition({ definition }: { definition: TargetDefinition }) {
  const parameters = definition.parameters ?? [];
  const tags = optionTags(definition.options);
  return (
    <section class="card definition">
      {definition.docstring ? <p class="docstring">{definition.docstring}</p> : <p class="faint">No docstring.</p>}
      {tags.length > 0 && (
        <div class="row wrap">
          {tags.map((t) => (
            <span class="tag" key={t}>
              {t}
            </span>
          ))}
        </div>
      )}
      {parameters.length > 0 && (
        <table class="data params" aria-label="Parameters">
          <thead>
            <tr>
              <th>Parameter</th>
              <th>Type</th>
              <th>Default</th>
            </tr>
          </thead>
          <tbody>
            {parameters.map((p) => (
              <tr key={p.name}>
                <td class="mono">
                  {p.kind === "var_positional" ? "*" : ""}
                  {p.name}
                  {p.kind === "keyword" && <span class="faint"> (keyword)</span>}
                </td>
                <td class="mono muted">{p.annotation ?? "–"}</td>
                <td class="mono muted">{p.default ?? "required"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
