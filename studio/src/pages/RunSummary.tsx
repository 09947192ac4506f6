/**
 * The run's inputs and result, under its header: the arguments it was started with
 * (named by the workflow's parameters when its manifest is known, as the step panel
 * names them) and, once it has finished, its result or error: the outcome of its
 * first step's latest execution, which is the run's. Values longer than a line start
 * collapsed to that line, so a run with large inputs keeps a compact header.
 */

import type { Manifest, Parameter, Value } from "../api/types";
import { ValueView } from "../components/ValueView";
import { formatSeconds } from "../model/format";
import { type Execution, latest, type RunModel, rootStep } from "../model/run";
import { isActive, stateInfo } from "../model/states";
import { toDisplay, toText } from "../model/values";
import "./RunSummary.css";

/** A value whose one-line text is longer than this starts collapsed to it. */
export const INLINE_CHARS = 80;

interface Props {
  model: RunModel;
  /** The manifests of the run's environment (undefined while loading): they name the arguments. */
  manifests: Manifest[] | undefined;
}

export function RunSummary({ model, manifests }: Props) {
  const root = rootStep(model);
  if (!root) return null;
  const parameters = manifests?.find((m) => m.repository === root.repository)?.targets?.find((t) => t.name === root.target)?.parameters;
  const execution = latest(root);
  const failed = execution?.outcome?.tag === "failed" || execution?.outcome?.tag === "timed_out";
  return (
    <section class="run-summary" aria-label="Inputs and result" data-testid="run-summary">
      <div class="run-summary-part">
        <h2>Arguments</h2>
        <Arguments values={root.arguments} parameters={parameters} />
      </div>
      <div class="run-summary-part" data-testid="run-outcome" aria-live="polite">
        <h2>{failed ? "Error" : "Result"}</h2>
        <RunOutcome execution={execution} />
      </div>
    </section>
  );
}

function Arguments({ values, parameters }: { values: Value[]; parameters: Parameter[] | undefined }) {
  if (values.length === 0) return <p class="faint">None.</p>;
  return (
    <dl class="run-summary-arguments">
      {values.map((value, i) => (
        <div key={i} class="run-summary-argument">
          <dt class="mono">{parameters?.[i]?.name ?? `argument ${i + 1}`}</dt>
          <dd>
            <CompactValue value={value} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** A value in full when it fits on a line; otherwise its first line, opening to all of it. */
export function CompactValue({ value }: { value: Value }) {
  const text = toText(toDisplay(value), INLINE_CHARS + 1);
  if (text.length <= INLINE_CHARS) return <ValueView value={value} />;
  return (
    <details class="run-summary-long">
      <summary class="mono">{toText(toDisplay(value), INLINE_CHARS)}</summary>
      <ValueView value={value} />
    </details>
  );
}

function RunOutcome({ execution }: { execution: Execution | undefined }) {
  if (!execution || isActive(execution.state)) return <p class="faint">Not finished yet.</p>;
  const outcome = execution.outcome;
  switch (outcome?.tag) {
    case "succeeded":
      return <CompactValue value={outcome.value} />;
    case "failed":
      return (
        <div class="error-box run-summary-error">
          <p>
            <strong class="mono">{outcome.error.type}</strong>: {outcome.error.message}
          </p>
          {outcome.error.traceback && (
            <details>
              <summary>Traceback</summary>
              <pre class="traceback">{outcome.error.traceback}</pre>
            </details>
          )}
        </div>
      );
    case "timed_out":
      return (
        <div class="error-box run-summary-error">
          <p>
            <strong>Timed out</strong>
            {outcome.timeout ? ` after ${formatSeconds(outcome.timeout)}` : ""}
          </p>
        </div>
      );
    case "cancelled":
      return <p class="muted">Cancelled.</p>;
    case "abandoned":
      return <p class="muted">Abandoned: its agent stopped responding.</p>;
    default:
      return <p class="faint">No result recorded ({stateInfo(execution.state).label}).</p>;
  }
}
