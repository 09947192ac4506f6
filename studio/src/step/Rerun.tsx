/**
 * Re-run a step, in the run's environment or a descendant of it (to try changed
 * code against upstream results). Says so plainly when the server has no re-run
 * endpoint.
 */

import { useState } from "preact/hooks";
import { ApiError, api } from "../api/http";
import type { Env } from "../model/environments";

interface Props {
  project: string;
  stepId: string;
  environments: Env[];
  defaultEnvironment: string;
  onStarted(executionId: string): void;
}

export function Rerun({ project, stepId, environments, defaultEnvironment, onStarted }: Props) {
  const [environment, setEnvironment] = useState(defaultEnvironment);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "error" | "info" | "missing"; text: string } | null>(null);
  const rerun = async () => {
    setBusy(true);
    setMessage(null);
    try {
      const { execution_id } = await api.rerunStep(project, stepId, environment === defaultEnvironment ? null : environment);
      setMessage({ kind: "info", text: `Started execution ${execution_id}.` });
      onStarted(execution_id);
    } catch (e) {
      if (e instanceof ApiError && e.endpointMissing) {
        setMessage({ kind: "missing", text: "Re-run is not available on this server (it has no re-run endpoint)." });
      } else setMessage({ kind: "error", text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const selectId = `rerun-env-${stepId}`;
  return (
    <div class="rerun">
      <div class="row">
        <label for={selectId} class="visually-hidden">
          Environment to re-run in
        </label>
        <select id={selectId} value={environment} onChange={(e) => setEnvironment((e.target as HTMLSelectElement).value)}>
          {environments.length === 0 && <option value={defaultEnvironment}>{defaultEnvironment}</option>}
          {environments.map((env) => (
            <option key={env.id} value={env.name}>
              {env.name}
              {env.name === defaultEnvironment ? " (this run's)" : ""}
            </option>
          ))}
        </select>
        <button type="button" onClick={rerun} disabled={busy}>
          ↻ Re-run
        </button>
      </div>
      {message && (
        <p class={message.kind === "info" ? "faint" : "notice " + (message.kind === "missing" ? "warning" : "error")} role={message.kind === "info" ? "status" : "alert"}>
          {message.text}
        </p>
      )}
    </div>
  );
}
