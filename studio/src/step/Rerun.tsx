/**
 * Re-run a step, in the run's environment or a descendant of it (to try changed
 * code against upstream results). Disabled, with the reason in view, when the
 * server would refuse (`rerunRefusal`); says so plainly when the server has no
 * re-run endpoint.
 */

import { useState } from "preact/hooks";
import { ApiError, api } from "../api/http";
import type { Env } from "../model/environments";
import { latest, type Step } from "../model/run";
import { useSession } from "../signin/session";
import { rerunRefusal } from "./rerunRefusal";

interface Props {
  project: string;
  stepId: string;
  /** The step as the run's model has it: what tells whether it may be re-run now. */
  step?: Step;
  environments: Env[];
  defaultEnvironment: string;
  onStarted(executionId: string): void;
}

export function Rerun({ project, stepId, step, environments, defaultEnvironment, onStarted }: Props) {
  const [environment, setEnvironment] = useState(defaultEnvironment);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "error" | "info" | "missing"; text: string } | null>(null);
  const session = useSession();
  const refusal = rerunRefusal({
    latest: step ? latest(step) : undefined,
    environment,
    env: environments.find((env) => env.name === environment),
    session,
  });
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
  const reasonId = `rerun-reason-${stepId}`;
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
        <button
          type="button"
          onClick={rerun}
          disabled={busy || refusal !== null}
          title={refusal ?? undefined}
          aria-describedby={refusal ? reasonId : undefined}
        >
          ↻ Re-run
        </button>
      </div>
      {refusal && (
        <p id={reasonId} class="faint rerun-reason">
          Re-run unavailable: {refusal}
        </p>
      )}
      {message && (
        <p class={message.kind === "info" ? "faint" : "notice " + (message.kind === "missing" ? "warning" : "error")} role={message.kind === "info" ? "status" : "alert"}>
          {message.text}
        </p>
      )}
    </div>
  );
}
