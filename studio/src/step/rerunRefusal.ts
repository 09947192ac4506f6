/**
 * Why the server would refuse to re-run a step, known before asking: the same
 * checks as `rerun_step` (src/coflux/orchestration/runs.py) where the step's state
 * and the environment's status tell, and the token's rights as `server/auth.py`
 * checks them. Studio disables Re-run and says why instead of offering what would
 * fail; the server still decides, and a refusal it gives is shown too.
 */

import type { SessionState } from "../signin/session";
import type { Env } from "../model/environments";
import type { Execution } from "../model/run";
import { isActive } from "../model/states";

/** Why the caller may not write in `environment` (re-run, cancel), or null. */
export function writeRefusal(session: SessionState, environment: string): string | null {
  if (session.phase !== "signed-in" || session.identity.admin) return null;
  const { token } = session.identity;
  if (token.read_only) return "Your token is a read-only token.";
  if (token.environments !== null && !token.environments.includes(environment)) {
    return `Your token is not for environment ${environment}.`;
  }
  return null;
}

interface Facts {
  /** The step's latest execution (undefined: not known yet). */
  latest: Execution | undefined;
  /** The environment to re-run in, by name, and what Studio knows of it. */
  environment: string;
  env: Env | undefined;
  session: SessionState;
}

/** Why re-running would be refused, for the button's title and the text beside it; null: allowed. */
export function rerunRefusal({ latest, environment, env, session }: Facts): string | null {
  const denied = writeRefusal(session, environment);
  if (denied) return denied;
  if (latest && isActive(latest.state)) return "The step has not finished: its latest execution is still " + (latest.state === "queued" ? "queued." : "running.");
  if (latest && latest.state === "spawned" && latest.outcome === null) return "The step's spawned run has not finished.";
  if (env && env.status !== "active") return `Environment ${env.name} is ${env.status}.`;
  return null;
}
