/**
 * One input prompt: its title, its text (`Prompt`), its state, and, while it waits,
 * what answers it: Approve and Dismiss for an approval (no schema), or the form its
 * schema describes (`InputForm`); the buttons carry the prompt's `actions` labels
 * when it has them. Once settled it says who answered or dismissed it and when, and
 * shows the answer. A caller whose token cannot write sees the prompt without the
 * controls (`access.ts`).
 *
 * An answer the server accepts is applied at once (`InputsSource.settle`); one it
 * refuses changes nothing and says why: a 400 at the field it names, a 409 (someone
 * else answered first) by reading the input again, which shows their answer.
 */

import { useId, useState } from "preact/hooks";
import { ApiError, api } from "../api/http";
import type { InputView } from "../api/types";
import { Confirm } from "../components/Confirm";
import { ValueView, type ValueLinks } from "../components/ValueView";
import type { InputsSource } from "../live/inputs";
import { formatDateTime } from "../model/format";
import { fromJson } from "../model/values";
import { useSession } from "../signin/session";
import { canRespond } from "./access";
import { InputForm } from "./InputForm";
import { Prompt } from "./Prompt";
import { fieldOfRefusal, type Json } from "./schema";
import "./inputs.css";

interface Props {
  project: string;
  input: InputView;
  source: InputsSource;
  links?: ValueLinks | undefined;
  /** The card's title level: a page's list shows it under its own heading. */
  level?: 2 | 3 | 4;
  /** False: the card's title is shown already (a dialog's). */
  titled?: boolean;
}

const STATUS = {
  pending: { label: "waiting", glyph: "?" },
  responded: { label: "answered", glyph: "✓" },
  dismissed: { label: "dismissed", glyph: "⊘" },
} as const;

export function InputStatusBadge({ input }: { input: InputView }) {
  const status = STATUS[input.status];
  return (
    <span class={`badge input-status input-status-${input.status}`} data-status={input.status}>
      <span aria-hidden="true">{status.glyph}</span>
      {status.label}
    </span>
  );
}

export function InputCard({ project, input, source, links, level = 3, titled = true }: Props) {
  const writable = canRespond(useSession(), input.environment);
  const Title = `h${level}` as "h3";
  const requires = Object.entries(input.requires ?? {});
  return (
    <article class="input-card" data-input={input.id} data-status={input.status} aria-label={input.title ?? "Input"}>
      <header class="row wrap input-card-head">
        {titled && <Title class="input-title">{input.title ?? "Input"}</Title>}
        <InputStatusBadge input={input} />
        <span class="spacer" />
        <span class="faint" title={`input ${input.id}`}>
          asked {formatDateTime(input.created_at)}
        </span>
      </header>
      <Prompt template={input.template} placeholders={input.placeholders} links={links} />
      {requires.length > 0 && (
        <p class="row wrap input-requires" aria-label="Meant for">
          <span class="faint">Meant for</span>
          {requires.map(([tag, values]) => (
            <span key={tag} class="tag">
              {tag}: {values.join(", ")}
            </span>
          ))}
        </p>
      )}
      {input.status === "pending" ? (
        writable ? (
          <Respond key={input.id} project={project} input={input} source={source} />
        ) : (
          <p class="muted input-read-only">Answering needs a token that can write to {input.environment}; yours can only read.</p>
        )
      ) : (
        <Settled input={input} />
      )}
    </article>
  );
}

function Settled({ input }: { input: InputView }) {
  const who = input.responded_by ?? "someone";
  const when = formatDateTime(input.responded_at);
  if (input.status === "dismissed") {
    return (
      <p class="input-outcome" data-testid="input-outcome">
        Dismissed by <strong>{who}</strong> at {when}.
      </p>
    );
  }
  return (
    <div class="input-outcome" data-testid="input-outcome">
      <p>
        {input.schema === null ? (input.actions ? `Answered “${input.actions[0]}”` : "Approved") : "Answered"} by <strong>{who}</strong> at {when}.
      </p>
      {input.schema !== null && (
        <div class="input-answer" aria-label="Answer">
          <ValueView value={fromJson(input.response)} />
        </div>
      )}
    </div>
  );
}

type Refusal = { path: string | null; message: string };

function Respond({ project, input, source }: { project: string; input: InputView; source: InputsSource }) {
  const idPrefix = `input-${useId()}`;
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [asking, setAsking] = useState(false);
  const [respondLabel, dismissLabel] = input.actions ?? [input.schema === null ? "Approve" : "Submit", "Dismiss"];

  const send = async (call: () => Promise<InputView>, paths: string[]) => {
    setBusy(true);
    setRefusal(null);
    try {
      source.settle(await call());
    } catch (e) {
      const error = e as Error;
      if (error instanceof ApiError && error.status === 400) {
        setRefusal({ path: fieldOfRefusal(error.message, paths), message: error.message });
      } else if (error instanceof ApiError && error.status === 409) {
        // Settled by someone else meanwhile: show what they did.
        setRefusal({ path: null, message: error.message });
        api.getInput(project, input.id).then((view) => source.settle(view), () => undefined);
      } else setRefusal({ path: null, message: error.message });
    } finally {
      setBusy(false);
    }
  };
  const respond = (value: Json | null, paths: string[] = []) => send(() => api.respondToInput(project, input.id, value), paths);
  const dismiss = () => send(() => api.dismissInput(project, input.id), []);
  // Dismissing fails the waiting step (InputDismissed): asked first, like a cancel.
  const askToDismiss = () => setAsking(true);
  const confirmation = asking && (
    <Confirm
      title={`${dismissLabel}?`}
      confirmLabel={`Yes, ${dismissLabel.toLowerCase()}`}
      declineLabel="No, leave it waiting"
      onDecline={() => setAsking(false)}
      onConfirm={() => {
        setAsking(false);
        void dismiss();
      }}
    >
      <p>
        {dismissLabel} “{input.title ?? "Input"}” without an answer?
      </p>
      <p class="muted">The step waiting for it fails with InputDismissed. This cannot be undone.</p>
    </Confirm>
  );

  if (input.schema === null) {
    return (
      <div class="stack">
        {refusal && (
          <p class="notice error" role="alert">
            {refusal.message}
          </p>
        )}
        <div class="row">
          <span class="spacer" />
          <button type="button" class="danger" disabled={busy} onClick={askToDismiss}>
            {dismissLabel}
          </button>
          <button type="button" class="primary" disabled={busy} onClick={() => respond(null)}>
            {respondLabel}
          </button>
        </div>
        {confirmation}
      </div>
    );
  }
  return (
    <>
      <InputForm
        idPrefix={idPrefix}
        schema={input.schema}
        initial={input.initial}
        submitLabel={respondLabel}
        dismissLabel={dismissLabel}
        busy={busy}
        refusal={refusal}
        onSubmit={(value, paths) => respond(value, paths)}
        onDismiss={askToDismiss}
        onEdit={() => setRefusal((r) => (r && r.path !== null ? null : r))}
      />
      {confirmation}
    </>
  );
}
