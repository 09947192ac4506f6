/**
 * The Run… (and Start sensor…) form's arguments: the target's parameters as one
 * form of the input prompts' engine (`inputs/schema.ts`), a field per parameter
 * drawn from the JSON Schema its annotation has in the manifest (a number, a
 * yes/no, a choice, a date, a Pydantic model's nested fields; a JSON text for an
 * annotation with no schema), checked before anything is sent and turned into the
 * positional `Value`s the API takes.
 *
 * Arguments are positional, so a parameter can only be left to its default when
 * every later one is too. A default the form can read (a Python literal: a
 * number, a string, True/False/None, an enum member of such a value) is filled
 * in, and sent only when a later argument needs it to be: a run started with the
 * defaults untouched has the same arguments as one submitted without them.
 * Keyword-only parameters cannot be given (the API has no keyword arguments); the
 * form says so rather than offering a field that would be refused.
 */

import type { Parameter, Value } from "../api/types";
import { checkForm, type Draft, draftOf, type Field, fieldOf, type Json, joinPath } from "../inputs/schema";
import { fromJson } from "./values";

/** The form of a target's arguments: one object field, a property per parameter. */
export interface ArgumentsForm {
  field: Extract<Field, { kind: "object" }>;
  /** The parameters with a field, in order (positional ones, then `*args`). */
  given: Parameter[];
  /** Keyword-only parameters: always their defaults. */
  keywordOnly: Parameter[];
  /** Each given parameter's default as JSON, where its source is a literal. */
  defaults: Record<string, Json>;
}

export type ArgumentCheck = { ok: true; arguments: Value[] } | { ok: false; errors: Record<string, string> };

const SIMPLE_STRING = /^'([^'\\]*)'$|^"([^"\\]*)"$/;
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const ENUM_MEMBER = /^<[\w.]+: (.*)>$/;

/** A default's Python source (`repr`) as the JSON it stands for, or undefined when
 * it is not a literal the form can read (a call, a container, an escaped string). */
export function pythonDefault(source: string): Json | undefined {
  const text = source.trim();
  if (text === "None") return null;
  if (text === "True" || text === "False") return text === "True";
  if (NUMBER.test(text)) return Number(text);
  const quoted = SIMPLE_STRING.exec(text);
  if (quoted) return quoted[1] ?? quoted[2] ?? "";
  const member = ENUM_MEMBER.exec(text);
  return member?.[1] !== undefined ? pythonDefault(member[1]) : undefined;
}

function describe(parameter: Parameter, inner: string | null): string | null {
  const parts = [
    parameter.annotation ? `${parameter.annotation}.` : null,
    parameter.default != null ? `Default ${parameter.default}.` : null,
    parameter.kind === "var_positional" ? "Extra positional arguments, as a JSON array." : null,
    inner,
  ];
  const described = parts.filter(Boolean).join(" ");
  return described === "" ? null : described;
}

/** The form for `parameters`: each one's field from its schema (`fieldOf`, its own
 * schema as the root its `$ref`s point into), labelled by the parameter's name. */
export function argumentsForm(parameters: Parameter[]): ArgumentsForm {
  const given = parameters.filter((p) => p.kind !== "keyword");
  const defaults: Record<string, Json> = {};
  const properties = given.map((parameter) => {
    const variadic = parameter.kind === "var_positional";
    const inner = fieldOf(variadic ? {} : (parameter.schema ?? {}));
    const parsed = parameter.default != null ? pythonDefault(parameter.default) : undefined;
    if (parsed !== undefined) defaults[parameter.name] = parsed;
    let field: Field = { ...inner, title: variadic ? `*${parameter.name}` : parameter.name, description: describe(parameter, inner.description) };
    // A yes/no whose default cannot be read offers "default" (no choice) besides yes and no.
    if (field.kind === "boolean" && parameter.default != null && parsed === undefined) field = { ...field, kind: "choice", options: [true, false] };
    return { name: parameter.name, required: !variadic && parameter.default == null, field };
  });
  const field: ArgumentsForm["field"] = { kind: "object", title: null, description: null, nullable: false, default: undefined, properties };
  return { field, given, keywordOnly: parameters.filter((p) => p.kind === "keyword"), defaults };
}

/** The form's starting state: the readable defaults filled in. */
export function argumentsDraft(form: ArgumentsForm): Draft {
  return draftOf(form.field, form.defaults);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Check the form and build the positional arguments (errors by field path). */
export function checkArguments(form: ArgumentsForm, draft: Draft): ArgumentCheck {
  const checked = checkForm(form.field, draft);
  const errors = { ...checked.errors };
  const values = (checked.value ?? {}) as Record<string, Json>;
  const positional: Json[] = [];
  let extra: Json[] = [];
  let gap: Parameter | null = null;
  for (const parameter of form.given) {
    const value = values[parameter.name];
    if (value === undefined || errors[parameter.name] !== undefined) {
      gap ??= parameter;
      continue;
    }
    if (parameter.kind === "var_positional") {
      if (!Array.isArray(value)) {
        errors[parameter.name] = `*${parameter.name} takes a JSON array of extra arguments.`;
        continue;
      }
      extra = value;
      if (extra.length === 0) continue;
    }
    if (gap !== null) {
      // A default filled in and left as it is needs no place of its own.
      if (parameter.name in form.defaults && same(value, form.defaults[parameter.name])) continue;
      errors[gap.name] ??= `Give ${gap.name} a value: a later argument is set, and arguments are positional.`;
      continue;
    }
    if (parameter.kind !== "var_positional") positional.push(value);
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  // Defaults left as they are need not be sent (see the module docstring).
  const sent = [...positional];
  if (extra.length === 0) {
    while (sent.length > 0) {
      const name = form.given[sent.length - 1]!.name;
      if (!(name in form.defaults) || !same(sent[sent.length - 1], form.defaults[name])) break;
      sent.pop();
    }
  }
  return { ok: true, arguments: [...sent, ...extra].map(fromJson) };
}

/**
 * The field path a server's refusal of an argument names, in the form's terms:
 * `argument 'guest' (arguments[4]) of book at age: expected integer` is at
 * `guest.age`; null when the message names no argument.
 */
export function refusedArgumentPath(message: string): string | null {
  const found = /argument '([^']+)' \(arguments\[\d+\]\) of \S+?(?: at (\S+?))?:/.exec(message);
  if (!found?.[1]) return null;
  const [, name, at] = found;
  if (!at) return name;
  return at.startsWith("[") ? `${name}${at}` : joinPath(name, at);
}
