/**
 * The Run… form's arguments: one JSON text per parameter, checked before submit
 * and turned into the positional `Value`s the API takes.
 *
 * An empty field means "use the default", which only works for trailing
 * parameters: arguments are positional, so a gap cannot be skipped.
 */

import type { Parameter, Value } from "../api/types";
import { fromJson } from "./values";

export type ArgumentCheck =
  | { ok: true; arguments: Value[] }
  | { ok: false; errors: Record<number, string>; message: string | null };

export function parseJsonField(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${(e as Error).message}` };
  }
}

export function checkArguments(parameters: Parameter[], texts: string[]): ArgumentCheck {
  const errors: Record<number, string> = {};
  const values: Array<unknown[] | null> = [];
  parameters.forEach((parameter, i) => {
    const text = (texts[i] ?? "").trim();
    if (text === "") {
      values.push(null);
      return;
    }
    if (parameter.kind === "keyword") {
      errors[i] = "Keyword-only parameters cannot be given here: arguments are positional.";
      values.push(null);
      return;
    }
    const parsed = parseJsonField(text);
    if (!parsed.ok) {
      errors[i] = parsed.error;
      values.push(null);
    } else if (parameter.kind === "var_positional") {
      if (!Array.isArray(parsed.value)) {
        errors[i] = `*${parameter.name} takes a JSON array of extra arguments.`;
        values.push(null);
      } else values.push(parsed.value);
    } else values.push([parsed.value]);
  });
  // Positional: once a field is empty, every later one must be too, and the
  // empty ones must have defaults.
  let gapAt = -1;
  parameters.forEach((parameter, i) => {
    const empty = values[i] === null && errors[i] === undefined;
    if (empty && gapAt < 0) gapAt = i;
    if (!empty && gapAt >= 0 && errors[i] === undefined) {
      errors[gapAt] = `Give ${parameters[gapAt]?.name} a value: later arguments are set, and arguments are positional.`;
    }
    if (empty && parameter.kind !== "var_positional" && parameter.kind !== "keyword" && parameter.default == null) {
      errors[i] ??= "Required.";
    }
  });
  if (Object.keys(errors).length > 0) return { ok: false, errors, message: null };
  const args: Value[] = [];
  for (const group of values) {
    if (group === null) break;
    for (const item of group) args.push(fromJson(item));
  }
  return { ok: true, arguments: args };
}
