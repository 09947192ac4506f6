/**
 * The form of an input prompt with a schema: a field per property (`schema.ts`
 * maps the schema), prefilled from the prompt's `initial` and the schema's defaults,
 * checked as you go (a field's error shows once you leave it) and all at once on
 * submit, which sends nothing while any field is wrong. A refusal from the server
 * (400) is shown at the field it names, or above the buttons when it names none.
 */

import { useMemo, useRef, useState } from "preact/hooks";
import { type Checked, checkForm, type Draft, draftOf, type Field, fieldOf, joinPath, type Json, labelOf, pathsOf } from "./schema";

interface Props {
  /** Unique on the page: the fields' ids start with it. */
  idPrefix: string;
  schema: Record<string, unknown>;
  initial: unknown;
  submitLabel: string;
  dismissLabel: string;
  busy: boolean;
  /** Where the server's last refusal points (path "" or null: the form as a whole). */
  refusal: { path: string | null; message: string } | null;
  onSubmit(value: Json, paths: string[]): void;
  onDismiss(): void;
  onEdit(): void;
}

export function InputForm({ idPrefix, schema, initial, submitLabel, dismissLabel, busy, refusal, onSubmit, onDismiss, onEdit }: Props) {
  const field = useMemo(() => fieldOf(schema), [schema]);
  const [draft, setDraft] = useState<Draft>(() => draftOf(field, initial === null ? undefined : initial));
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const checked = checkForm(field, draft);
  const errorAt = (path: string): string | undefined => {
    if (refusal && refusal.path === path) return refusal.message;
    return submitted || touched.has(path) ? checked.errors[path] : undefined;
  };
  const context: FieldContext = {
    idPrefix,
    errorAt,
    touch: (path) => setTouched((t) => (t.has(path) ? t : new Set([...t, path]))),
  };
  const formRefusal = refusal && (refusal.path === null || !pathsOf(field, draft).includes(refusal.path)) ? refusal.message : null;

  const submit = (event: Event) => {
    event.preventDefault();
    setSubmitted(true);
    if (!checked.ok) {
      focusFirstError(form.current, checked);
      return;
    }
    onSubmit(checked.value, pathsOf(field, draft));
  };

  return (
    <form ref={form} class="input-form stack" onSubmit={submit} noValidate aria-label="Answer">
      <FieldEditor
        field={field}
        draft={draft}
        path=""
        label={null}
        required
        context={context}
        onChange={(next) => {
          setDraft(next);
          onEdit();
        }}
      />
      {formRefusal && (
        <p class="notice error" role="alert">
          {formRefusal}
        </p>
      )}
      <div class="row">
        <span class="spacer" />
        <button type="button" class="danger" disabled={busy} onClick={onDismiss}>
          {dismissLabel}
        </button>
        <button type="submit" class="primary" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

/** Focus the first field with an error (exported: the Run… form shares the engine). */
export function focusFirstError(form: HTMLFormElement | null, checked: Checked): void {
  const first = Object.keys(checked.errors)[0];
  if (first === undefined || !form) return;
  form.querySelector<HTMLElement>(`[data-path="${CSS.escape(first)}"] :is(input, select, textarea)`)?.focus();
}

export interface FieldContext {
  idPrefix: string;
  errorAt(path: string): string | undefined;
  touch(path: string): void;
}

const idOf = (prefix: string, path: string) => `${prefix}-${path.replace(/[^A-Za-z0-9_-]/g, "_") || "value"}`;

/** The hint under a field: its description, bounds and format. */
function hintOf(field: Field): string | null {
  const parts: string[] = [];
  if (field.description) parts.push(field.description);
  if (field.kind === "integer" || field.kind === "number") {
    const low = field.minimum ?? field.exclusiveMinimum;
    const high = field.maximum ?? field.exclusiveMaximum;
    const kind = field.kind === "integer" ? "A whole number" : "A number";
    if (low !== null && high !== null) parts.push(`${kind} from ${low} to ${high}${field.exclusiveMinimum !== null || field.exclusiveMaximum !== null ? " (exclusive)" : ""}.`);
    else if (low !== null) parts.push(`${kind}, ${field.minimum !== null ? "at least" : "more than"} ${low}.`);
    else if (high !== null) parts.push(`${kind}, ${field.maximum !== null ? "at most" : "less than"} ${high}.`);
  }
  if (field.kind === "json") parts.push("JSON.");
  if (field.nullable) parts.push("Optional.");
  return parts.length ? parts.join(" ") : null;
}

/** How a choice reads in its list: a string as itself, anything else as JSON. */
function optionLabel(option: Json): string {
  if (option === null) return "None";
  if (typeof option === "string") return option;
  if (typeof option === "boolean") return option ? "Yes" : "No";
  return JSON.stringify(option);
}

interface EditorProps {
  field: Field;
  draft: Draft;
  path: string;
  /** Null: the form's root, which the prompt above names. */
  label: string | null;
  required: boolean;
  context: FieldContext;
  onChange(draft: Draft): void;
}

/** One field of a schema form and, for an object or array, its fields (exported:
 * the Run… form draws its parameters with it). */
export function FieldEditor({ field, draft, path, label, required, context, onChange }: EditorProps) {
  const id = idOf(context.idPrefix, path);
  const error = context.errorAt(path);
  const hint = hintOf(field);
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name: path || "value",
    "aria-invalid": error ? ("true" as const) : undefined,
    "aria-describedby": described,
    "aria-required": required && !field.nullable ? ("true" as const) : undefined,
    onBlur: () => context.touch(path),
  };
  const heading = label ?? (path === "" ? "Answer" : null);

  if (field.kind === "object" && draft.kind === "object") {
    const body = draft.present && (
      <div class="input-fields">
        {field.properties.map((property) => (
          <FieldEditor
            key={property.name}
            field={property.field}
            draft={draft.fields[property.name] ?? draftOf(property.field)}
            path={joinPath(path, property.name)}
            label={labelOf(property)}
            required={property.required}
            context={context}
            onChange={(inner) => onChange({ ...draft, fields: { ...draft.fields, [property.name]: inner } })}
          />
        ))}
      </div>
    );
    if (path === "" && !field.nullable) return <div data-path={path}>{body}</div>;
    return (
      <fieldset class="input-fieldset" data-path={path}>
        <legend>{heading}</legend>
        {field.nullable && (
          <label class="row input-check">
            <input type="checkbox" checked={draft.present} onChange={(e) => onChange({ ...draft, present: (e.target as HTMLInputElement).checked })} />
            Fill in
          </label>
        )}
        {body}
        <Messages id={id} hint={hint} error={error} />
      </fieldset>
    );
  }

  if (field.kind === "array" && draft.kind === "array") {
    return (
      <fieldset class="input-fieldset" data-path={path}>
        <legend>{heading}</legend>
        {draft.items.map((item, i) => (
          <div class="row input-item" key={i}>
            <div class="grow">
              <FieldEditor
                field={field.items}
                draft={item}
                path={joinPath(path, i)}
                label={`${heading ?? "Item"} ${i + 1}`}
                required
                context={context}
                onChange={(inner) => onChange({ ...draft, present: true, items: draft.items.map((d, j) => (j === i ? inner : d)) })}
              />
            </div>
            <button type="button" class="small ghost" aria-label={`Remove item ${i + 1}`} onClick={() => onChange({ ...draft, items: draft.items.filter((_, j) => j !== i) })}>
              ✕
            </button>
          </div>
        ))}
        <div>
          <button type="button" class="small" onClick={() => onChange({ ...draft, present: true, items: [...draft.items, draftOf(field.items)] })}>
            + Add
          </button>
        </div>
        <Messages id={id} hint={hint} error={error} />
      </fieldset>
    );
  }

  let control;
  if (field.kind === "boolean" && draft.kind === "boolean") {
    return (
      <div class="field" data-path={path}>
        <label class="row input-check">
          <input {...common} type="checkbox" checked={draft.value} onChange={(e) => onChange({ kind: "boolean", value: (e.target as HTMLInputElement).checked })} />
          {heading}
        </label>
        <Messages id={id} hint={hint} error={error} />
      </div>
    );
  } else if (field.kind === "choice" && draft.kind === "choice") {
    control = (
      <select {...common} value={String(draft.index)} onChange={(e) => onChange({ kind: "choice", index: Number((e.target as HTMLSelectElement).value) })}>
        {(field.nullable || draft.index < 0 || field.options.length > 1) && <option value="-1">{field.nullable ? "None" : "Choose…"}</option>}
        {field.options.map((option, i) => (
          <option key={i} value={String(i)}>
            {optionLabel(option)}
          </option>
        ))}
      </select>
    );
  } else if (draft.kind === "text") {
    const onInput = (e: Event) => onChange({ kind: "text", text: (e.target as HTMLInputElement | HTMLTextAreaElement).value });
    if (field.kind === "json") {
      control = <textarea {...common} rows={3} spellcheck={false} value={draft.text} onInput={onInput} />;
    } else if (field.kind === "integer" || field.kind === "number") {
      control = <input {...common} type="text" inputMode={field.kind === "integer" ? "numeric" : "decimal"} autocomplete="off" value={draft.text} onInput={onInput} />;
    } else if (field.kind === "text") {
      const type = { plain: "text", date: "date", time: "time", "date-time": "datetime-local" }[field.format];
      control = <input {...common} type={type} step={field.format === "plain" || field.format === "date" ? undefined : 1} value={draft.text} onInput={onInput} />;
    }
  }
  return (
    <div class="field" data-path={path}>
      <label for={id}>
        {heading}
        {required && !field.nullable && <span class="faint" aria-hidden="true"> *</span>}
      </label>
      {control}
      <Messages id={id} hint={hint} error={error} />
    </div>
  );
}

function Messages({ id, hint, error }: { id: string; hint: string | null; error: string | undefined }) {
  return (
    <>
      {hint && (
        <span id={`${id}-hint`} class="field-hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} class="field-error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}
