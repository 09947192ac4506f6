/**
 * The Run… form: one JSON field per parameter (named, with its annotation and
 * default), validated as you type and again before submitting.
 */

import { useRef, useState } from "preact/hooks";
import { api } from "../api/http";
import type { Parameter, TargetDefinition } from "../api/types";
import { Dialog } from "../components/Dialog";
import { checkArguments } from "../model/arguments";
import { href, navigate } from "../router";

interface Props {
  project: string;
  environment: string;
  repository: string;
  target: TargetDefinition;
  onClose(): void;
}

function hint(parameter: Parameter): string {
  if (parameter.kind === "var_positional") return "A JSON array of extra positional arguments (optional).";
  if (parameter.kind === "keyword") return "Keyword-only: leave empty to use its default.";
  if (parameter.default != null) return `Optional: leave empty for the default, ${parameter.default}.`;
  return "Required. A JSON value, e.g. 3, \"text\", [1, 2] or {\"a\": 1}.";
}

export function RunForm({ project, environment, repository, target, onClose }: Props) {
  const parameters = target.parameters ?? [];
  const [texts, setTexts] = useState<string[]>(() => parameters.map(() => ""));
  const [touched, setTouched] = useState<boolean[]>(() => parameters.map(() => false));
  const [submitted, setSubmitted] = useState(false);
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const check = checkArguments(parameters, texts);
  const errorOf = (i: number) => (!check.ok && (touched[i] || submitted) ? check.errors[i] : undefined);

  const submit = async (event: Event) => {
    event.preventDefault();
    setSubmitted(true);
    setServerError(null);
    if (!check.ok) {
      const first = Object.keys(check.errors).map(Number).sort((a, b) => a - b)[0];
      form.current?.querySelector<HTMLElement>(`#arg-${first}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const { run_id } = await api.submitRun(project, environment, repository, target.name, check.arguments);
      navigate(href({ page: "run", project, environment, run: run_id, step: null, view: "graph" }));
    } catch (e) {
      setServerError((e as Error).message);
      setBusy(false);
    }
  };

  return (
    <Dialog title={`Run ${target.name}`} onClose={onClose}>
      <form ref={form} class="stack" onSubmit={submit} noValidate aria-label={`Arguments for ${target.name}`}>
        <p class="muted">
          In <strong>{environment}</strong>, repository <span class="mono">{repository}</span>. Arguments are JSON.
        </p>
        {parameters.length === 0 && <p class="muted">This workflow takes no arguments.</p>}
        {parameters.map((parameter, i) => {
          const error = errorOf(i);
          return (
            <div class="field" key={parameter.name}>
              <label for={`arg-${i}`}>
                <span class="mono">
                  {parameter.kind === "var_positional" ? "*" : ""}
                  {parameter.name}
                </span>
                {parameter.annotation && <span class="faint mono">: {parameter.annotation}</span>}
                {parameter.default != null && <span class="faint mono"> = {parameter.default}</span>}
              </label>
              <textarea
                id={`arg-${i}`}
                name={parameter.name}
                rows={1}
                spellcheck={false}
                value={texts[i]}
                placeholder={parameter.default != null ? `default: ${parameter.default}` : "JSON value"}
                aria-invalid={error ? "true" : undefined}
                aria-describedby={`arg-${i}-hint${error ? ` arg-${i}-error` : ""}`}
                onInput={(e) => {
                  const next = [...texts];
                  next[i] = (e.target as HTMLTextAreaElement).value;
                  setTexts(next);
                }}
                onBlur={() => {
                  const next = [...touched];
                  next[i] = true;
                  setTouched(next);
                }}
                onKeyDown={(e) => {
                  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.current?.requestSubmit();
                }}
              />
              <span id={`arg-${i}-hint`} class="field-hint">
                {hint(parameter)}
              </span>
              {error && (
                <span id={`arg-${i}-error`} class="field-error" role="alert">
                  {error}
                </span>
              )}
            </div>
          );
        })}
        {serverError && (
          <p class="notice error" role="alert">
            {serverError}
          </p>
        )}
        <div class="row">
          <span class="faint">Ctrl+Enter submits</span>
          <span class="spacer" />
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Start run
          </button>
        </div>
      </form>
    </Dialog>
  );
}
