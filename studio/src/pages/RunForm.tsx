/**
 * The Run… form of a workflow, and the Start… form of a sensor: a field per
 * parameter drawn from its annotation's schema by the input prompts' form engine
 * (`inputs/InputForm.tsx`'s `FieldEditor`, `model/arguments.ts`), checked as you go
 * and again before sending, which sends nothing while a field is wrong. A refusal
 * from the server (400) is shown at the field it names, else above the buttons.
 */

import { useMemo, useRef, useState } from "preact/hooks";
import { api } from "../api/http";
import type { TargetDefinition } from "../api/types";
import { Dialog } from "../components/Dialog";
import { FieldEditor, type FieldContext, focusFirstError } from "../inputs/InputForm";
import "../inputs/inputs.css";
import { type Draft, fieldOfRefusal, pathsOf } from "../inputs/schema";
import { argumentsDraft, argumentsForm, checkArguments, refusedArgumentPath } from "../model/arguments";
import { href, navigate } from "../router";

interface Props {
  project: string;
  environment: string;
  repository: string;
  target: TargetDefinition;
  onClose(): void;
  /** A sensor was started (a workflow's run opens its page instead). */
  onSensorStarted?(sensorId: string): void;
}

export function RunForm({ project, environment, repository, target, onClose, onSensorStarted }: Props) {
  const sensor = target.type === "sensor";
  const form = useMemo(() => argumentsForm(target.parameters ?? []), [target]);
  const [draft, setDraft] = useState<Draft>(() => argumentsDraft(form));
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [refusal, setRefusal] = useState<{ path: string | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const element = useRef<HTMLFormElement>(null);
  const check = checkArguments(form, draft);
  const errors = check.ok ? {} : check.errors;
  const context: FieldContext = {
    idPrefix: "arg",
    errorAt: (path) => (refusal && refusal.path === path ? refusal.message : submitted || touched.has(path) ? errors[path] : undefined),
    touch: (path) => setTouched((t) => (t.has(path) ? t : new Set([...t, path]))),
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setSubmitted(true);
    setRefusal(null);
    if (!check.ok) {
      focusFirstError(element.current, { ok: false, value: null, errors: check.errors });
      return;
    }
    setBusy(true);
    try {
      if (sensor) {
        const { sensor_id } = await api.startSensor(project, environment, repository, target.name, check.arguments);
        onSensorStarted?.(sensor_id);
        onClose();
        return;
      }
      const { run_id } = await api.submitRun(project, environment, repository, target.name, check.arguments);
      navigate(href({ page: "run", project, environment, run: run_id, step: null, view: "graph" }));
    } catch (e) {
      const message = (e as Error).message;
      const named = refusedArgumentPath(message);
      // The nearest field the form has (an item named by its index may be gone).
      const path = named === null ? null : fieldOfRefusal(`at ${named}: `, pathsOf(form.field, draft));
      setRefusal({ path, message });
      setBusy(false);
    }
  };

  const verb = sensor ? "Start" : "Run";
  const formRefusal = refusal && refusal.path === null ? refusal.message : null;
  return (
    <Dialog title={`${verb} ${target.name}`} onClose={onClose}>
      <form ref={element} class="stack" onSubmit={submit} noValidate
        aria-label={`Arguments for ${target.name}`}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) element.current?.requestSubmit();
        }}
      >
        <p class="muted">
          In <strong>{environment}</strong>, repository <span class="mono">{repository}</span>.
        </p>
        {form.given.length === 0 && <p class="muted">This {sensor ? "sensor" : "workflow"} takes no arguments.</p>}
        {form.given.length > 0 && (
          <FieldEditor
            field={form.field}
            draft={draft}
            path=""
            label={null}
            required
            context={context}
            onChange={(next) => {
              setDraft(next);
              setRefusal(null);
            }}
          />
        )}
        {form.keywordOnly.length > 0 && (
          <p class="faint">
            Keyword-only {form.keywordOnly.length === 1 ? "parameter" : "parameters"}{" "}
            <span class="mono">{form.keywordOnly.map((p) => p.name).join(", ")}</span> keep their defaults: arguments from here are positional.
          </p>
        )}
        {formRefusal && (
          <p class="notice error" role="alert">
            {formRefusal}
          </p>
        )}
        <div class="row">
          <span class="faint">Ctrl+Enter submits</span>
          <span class="spacer" />
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {sensor ? "Start sensor" : "Start run"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
