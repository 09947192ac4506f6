/**
 * A workflow (or sensor): its definition, its runs through all of history (filtered,
 * live) and Run…; for a sensor, Start… (the same form) and the sensors of it
 * running now, each with Stop.
 */

import { useEffect, useState } from "preact/hooks";
import { api } from "../api/http";
import type { SensorView, TargetDefinition } from "../api/types";
import { Confirm } from "../components/Confirm";
import { Link } from "../components/Link";
import { ErrorNotice } from "../components/Notice";
import { RunHistory } from "../components/RunHistory";
import { StateBadge } from "../components/StateBadge";
import { useAsync } from "../components/useAsync";
import { useManifests } from "../live/data";
import { type ProjectLive, useProjectState } from "../live/project";
import { optionTags } from "../model/options";
import { toDisplay, toText } from "../model/values";
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
  const [sensorsVersion, setSensorsVersion] = useState(0);
  return (
    <main class="page">
      <div class="page-head">
        <div>
          <div class="faint mono">{repository}</div>
          <h1 class="mono">{target}</h1>
        </div>
        {definition && <span class="tag">{definition.type}</span>}
        <span class="spacer" />
        {(definition?.type === "workflow" || definition?.type === "sensor") && (
          <button type="button" class="primary" onClick={() => setRunning(true)}>
            {definition.type === "sensor" ? "Start…" : "Run…"}
          </button>
        )}
      </div>
      {manifests.error && <ErrorNotice error={manifests.error} />}
      {manifests.data && !definition && (
        <ErrorNotice error={`${repository} / ${target} is not registered in ${environment}.`} />
      )}
      {definition && <Definition definition={definition} />}
      {definition?.type === "sensor" && (
        <RunningSensors live={live} environment={environment} repository={repository} target={target} version={sensorsVersion} />
      )}
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
        <RunForm
          project={live.project}
          environment={environment}
          repository={repository}
          target={definition}
          onClose={() => setRunning(false)}
          onSensorStarted={() => setSensorsVersion((v) => v + 1)}
        />
      )}
    </main>
  );
}

const SENSORS_POLL_MS = 5000;

interface SensorsProps {
  live: ProjectLive;
  environment: string;
  repository: string;
  target: string;
  /** Changes when a sensor was started here: the list is fetched again. */
  version: number;
}

/** The sensors of this target running in the environment, each with Stop. A sensor
 * that ends is restarted by the server, so the list changes only on start and stop
 * (here or elsewhere: it is fetched again every few seconds while shown). */
function RunningSensors({ live, environment, repository, target, version }: SensorsProps) {
  const { generation } = useProjectState(live);
  const [tick, setTick] = useState(0);
  const [stopping, setStopping] = useState<string | null>(null);
  const [stopError, setStopError] = useState<Error | null>(null);
  const [asking, setAsking] = useState<SensorView | null>(null);
  useEffect(() => {
    const poll = setInterval(() => setTick((t) => t + 1), SENSORS_POLL_MS);
    return () => clearInterval(poll);
  }, []);
  const sensors = useAsync(() => api.listSensors(live.project, environment), [live.project, environment, generation, version, tick]);
  const mine = (sensors.data ?? []).filter((s) => s.repository === repository && s.target === target);
  const stop = async (sensor: SensorView) => {
    setStopping(sensor.id);
    setStopError(null);
    try {
      await api.stopSensor(live.project, sensor.id);
      sensors.setData((sensors.data ?? []).filter((s) => s.id !== sensor.id));
    } catch (e) {
      setStopError(e as Error);
    } finally {
      setStopping(null);
    }
  };
  return (
    <section class="section">
      <h2>Running</h2>
      {sensors.error && <ErrorNotice error={sensors.error} />}
      {stopError && <ErrorNotice error={stopError} />}
      {sensors.data && mine.length === 0 && <p class="muted">No {target} sensor is running in {environment}. Start… starts one.</p>}
      {mine.length > 0 && (
        <table class="data" aria-label={`Running ${target} sensors`}>
          <thead>
            <tr>
              <th>Sensor</th>
              <th>Arguments</th>
              <th>State</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {mine.map((sensor) => (
              <tr key={sensor.id}>
                <td class="mono">
                  <Link to={{ page: "run", project: live.project, environment, run: sensor.id, step: null, view: "graph" }}>{sensor.id}</Link>
                </td>
                <td class="mono muted">{sensor.arguments.map((a) => toText(toDisplay(a), 60)).join(", ") || "–"}</td>
                <td>
                  <StateBadge state={sensor.state} />
                </td>
                <td>
                  <button type="button" class="small danger" disabled={stopping === sensor.id} aria-label={`Stop sensor ${sensor.id}`} onClick={() => setAsking(sensor)}>
                    Stop
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {asking && (
        <Confirm
          title="Stop sensor?"
          confirmLabel="Yes, stop the sensor"
          declineLabel="No, keep it running"
          onDecline={() => setAsking(null)}
          onConfirm={() => {
            setAsking(null);
            void stop(asking);
          }}
        >
          <p>
            Stop sensor <span class="mono">{asking.id}</span> ({target} in {environment})?
          </p>
          <p class="muted">Its run is cancelled: it stops watching, and runs it started go on. Start… starts a new one.</p>
        </Confirm>
      )}
    </section>
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
