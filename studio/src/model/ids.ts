/**
 * The ids of runs, steps and executions: the one place in Studio that builds and
 * reads them, the twin of the server's `coflux/ids.py` (same format, same rules).
 *
 * A step id is `RUN:NUMBER` and an execution id `RUN:NUMBER:ATTEMPT`, so an id says
 * where it belongs: a fact's run, step and attempt are read off its execution id
 * without a look-up. Reading them back is unambiguous because a run id never holds
 * `:` (the server makes them from lowercase letters and digits; the format only asks
 * a run id to be non-empty and free of `:`). Step numbers and attempts count from 1,
 * in decimal without leading zeros, so each id has one spelling.
 *
 * The readers `runIdOf`, `stepIdOf`, `stepNumberOf` and `attemptOf` do not check
 * the id (they run for every fact of a 5,000-step run); `parseExecution` and
 * `parseStep` do, for ids from outside (a URL, a user).
 */

export const SEPARATOR = ":";
/** The number of a run's first step: the workflow (or sensor) itself. */
export const ROOT_NUMBER = 1;

const EXECUTION = /^([^:]+):([1-9][0-9]*):([1-9][0-9]*)$/;
const STEP = /^([^:]+):([1-9][0-9]*)$/;

/** Step `number` of run `runId`: "RUN", 2 -> "RUN:2". */
export function buildStepId(runId: string, number: number): string {
  return `${runId}${SEPARATOR}${number}`;
}

/** Attempt `attempt` of step `stepId`: "RUN:2", 3 -> "RUN:2:3". */
export function buildExecutionId(stepId: string, attempt: number): string {
  return `${stepId}${SEPARATOR}${attempt}`;
}

/** The id of a run's first step (the one its workflow or sensor runs in). */
export function rootStepId(runId: string): string {
  return buildStepId(runId, ROOT_NUMBER);
}

/** The id of the first execution of a run's first step: the run's own start. */
export function rootExecutionId(runId: string): string {
  return buildExecutionId(rootStepId(runId), 1);
}

/** "RUN:2" or "RUN:2:1" -> "RUN" (an id without ":" comes back whole). */
export function runIdOf(id: string): string {
  const cut = id.indexOf(SEPARATOR);
  return cut < 0 ? id : id.slice(0, cut);
}

/** "RUN:2:1" -> "RUN:2" (an id without ":" comes back whole). */
export function stepIdOf(executionId: string): string {
  const cut = executionId.lastIndexOf(SEPARATOR);
  return cut < 0 ? executionId : executionId.slice(0, cut);
}

/** "RUN:2" or "RUN:2:1" -> 2 (NaN for an id without a step number). */
export function stepNumberOf(id: string): number {
  const part = id.split(SEPARATOR)[1];
  return part === undefined || part === "" ? NaN : Number(part);
}

/** "RUN:2:3" -> 3 (NaN for an id without an attempt). */
export function attemptOf(executionId: string): number {
  const cut = executionId.lastIndexOf(SEPARATOR);
  return cut < 0 || cut === executionId.length - 1 ? NaN : Number(executionId.slice(cut + 1));
}

export interface ExecutionParts {
  run: string;
  number: number;
  attempt: number;
}

/** An execution id's run, step number and attempt; throws for anything but
 * `RUN:NUMBER:ATTEMPT` (a non-empty run id, positive integers without leading zeros). */
export function parseExecution(id: string): ExecutionParts {
  const found = EXECUTION.exec(id);
  if (!found) throw new Error(`${JSON.stringify(id)} is not an execution id (RUN:NUMBER:ATTEMPT)`);
  return { run: found[1]!, number: Number(found[2]), attempt: Number(found[3]) };
}

/** A step id's run and number; throws for anything but `RUN:NUMBER`. */
export function parseStep(id: string): { run: string; number: number } {
  const found = STEP.exec(id);
  if (!found) throw new Error(`${JSON.stringify(id)} is not a step id (RUN:NUMBER)`);
  return { run: found[1]!, number: Number(found[2]) };
}
