/**
 * The inputs waiting for an answer, newest first: on an environment's page (every
 * run's) and on a run's page. Each row names the prompt, links to the step that
 * asked, and opens the prompt in a dialog to answer it. A row goes as soon as its
 * input is answered or dismissed, here or anywhere else; a dialog left open shows
 * the outcome. Nothing is shown while nothing waits.
 */

import { useState } from "preact/hooks";
import type { InputView } from "../api/types";
import { Dialog } from "../components/Dialog";
import { Link } from "../components/Link";
import type { InputsSource } from "../live/inputs";
import { formatDateTime } from "../model/format";
import { stepNumberOf } from "../model/ids";
import type { Route } from "../router";
import { useSession } from "../signin/session";
import { canRespond } from "./access";
import { pendingInputs } from "./book";
import { InputCard } from "./InputCard";
import { summarise } from "./template";
import "./inputs.css";

interface Props {
  project: string;
  source: InputsSource;
  /** A link to the step that asked, and what it says (null: no link). */
  locate(input: InputView): { to: Route | string; label: string } | null;
}

/** The route of the step an input's execution belongs to, in its run. */
export function inputStepRoute(project: string, input: InputView): Extract<Route, { page: "run" }> {
  const step = stepNumberOf(input.execution_id);
  return { page: "run", project, environment: input.environment, run: input.run_id, step: Number.isFinite(step) ? step : null, view: "graph" };
}

export function PendingInputs({ project, source, locate }: Props) {
  const [open, setOpen] = useState<string | null>(null);
  const session = useSession();
  const pending = source.missing ? [] : pendingInputs(source.book);
  const opened = open !== null ? source.book.byId.get(open) : undefined;
  if (pending.length === 0 && !opened) return null;
  return (
    <section class="input-pending" aria-labelledby="pending-inputs-title" data-testid="pending-inputs">
      {pending.length > 0 && (
        <>
          <h2 id="pending-inputs-title" class="input-pending-title">
            Waiting for input <span class="count">{pending.length}</span>
          </h2>
          <ul class="input-rows">
            {pending.map((input) => {
              const where = locate(input);
              const writable = canRespond(session, input.environment);
              return (
                <li key={input.id} class="input-row" data-input={input.id}>
                  <div class="input-row-main">
                    <strong>{input.title ?? "Input"}</strong>
                    <span class="input-row-summary">{summarise(input.template, input.placeholders)}</span>
                  </div>
                  <span class="faint input-row-meta">
                    {where && (
                      <>
                        <Link to={where.to} class="mono">
                          {where.label}
                        </Link>{" "}
                        ·{" "}
                      </>
                    )}
                    {formatDateTime(input.created_at)}
                  </span>
                  <button type="button" class={writable ? "primary small" : "small"} onClick={() => setOpen(input.id)}>
                    {writable ? "Respond…" : "View…"}
                  </button>
                </li>
              );
            })}
          </ul>
        </>
      )}
      {opened && (
        <Dialog title={opened.title ?? "Input"} onClose={() => setOpen(null)} wide>
          <InputCard project={project} input={opened} source={source} titled={false} />
          {opened.status !== "pending" && (
            <div class="row">
              <span class="spacer" />
              <button type="button" onClick={() => setOpen(null)}>
                Done
              </button>
            </div>
          )}
        </Dialog>
      )}
    </section>
  );
}
