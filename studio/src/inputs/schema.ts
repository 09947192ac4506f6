/**
 * Forms from JSON schemas: an input prompt's schema (a Pydantic model's
 * `model_json_schema()`, a primitive's, or one written by hand) mapped to a tree of
 * fields; the form's state (`Draft`: what is typed in, as typed, so a half-typed
 * number can be shown and refused); and that state checked and turned into the JSON
 * answer, with an error per field, before anything is sent.
 *
 * What the form can draw: strings (with `format` date, time or date-time), integers
 * and numbers (with their bounds), booleans, choices (`enum`, `const`, `Literal`,
 * an enum class), optional fields (`anyOf` with null, or not `required`), nested
 * objects (`$ref` into `$defs` too) and arrays of those primitives. Anything else
 * (a dict, a tuple, a union of types) is a JSON text field, checked only as JSON:
 * the server checks every answer against the schema again.
 *
 * Patterns are checked here too, because the server leaves `pattern` to the code
 * that asked (as it does for run arguments), so a wrong answer would only fail the
 * execution later. The pattern comes from the project's own code and runs in the
 * answerer's tab; one that JavaScript cannot compile (a Python-only construct) is
 * skipped rather than refusing every answer.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

type TextFormat = "plain" | "date" | "time" | "date-time";

interface Common {
  title: string | null;
  description: string | null;
  /** Null is an answer (`anyOf` with null): an empty field sends null. */
  nullable: boolean;
  /** The schema's `default`; undefined: none. */
  default: unknown;
}

export type Field =
  | (Common & { kind: "text"; format: TextFormat; minLength: number | null; maxLength: number | null; pattern: string | null })
  | (Common & {
      kind: "integer" | "number";
      minimum: number | null;
      maximum: number | null;
      exclusiveMinimum: number | null;
      exclusiveMaximum: number | null;
    })
  | (Common & { kind: "boolean" })
  | (Common & { kind: "choice"; options: Json[] })
  | (Common & { kind: "object"; properties: Property[] })
  | (Common & { kind: "array"; items: Field; minItems: number | null; maxItems: number | null })
  | (Common & { kind: "json" });

export interface Property {
  name: string;
  required: boolean;
  field: Field;
}

/** What the form holds for a field: text as typed, a choice's index (-1: none). */
export type Draft =
  | { kind: "text"; text: string }
  | { kind: "boolean"; value: boolean }
  | { kind: "choice"; index: number }
  | { kind: "object"; present: boolean; fields: Record<string, Draft> }
  | { kind: "array"; present: boolean; items: Draft[] };

type Schema = Record<string, unknown>;

const MAX_DEPTH = 12; // deeper (a recursive model): a JSON field

const isRecord = (x: unknown): x is Schema => typeof x === "object" && x !== null && !Array.isArray(x);
const text = (x: unknown): string | null => (typeof x === "string" && x !== "" ? x : null);
const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

/** `node` with its `$ref` (into the root's `$defs` or `definitions`) and a lone
 * `allOf` folded in; the node's own keywords (title, default) win. */
function resolve(node: unknown, root: Schema): Schema {
  if (!isRecord(node)) return {};
  let schema = node;
  for (let hops = 0; hops < MAX_DEPTH; hops++) {
    const ref = schema["$ref"];
    const allOf = schema["allOf"];
    const { $ref: _ref, allOf: _allOf, ...own } = schema;
    if (typeof ref === "string") {
      const target = lookup(ref, root);
      if (!target) return own;
      schema = { ...target, ...own };
    } else if (Array.isArray(allOf) && allOf.length === 1 && isRecord(allOf[0])) {
      schema = { ...allOf[0], ...own };
    } else return schema;
  }
  return {};
}

function lookup(ref: string, root: Schema): Schema | null {
  if (ref === "#") return root;
  if (!ref.startsWith("#/")) return null;
  let node: unknown = root;
  for (const part of ref.slice(2).split("/")) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    node = isRecord(node) ? node[key] : undefined;
  }
  return isRecord(node) ? node : null;
}

function choicesOf(schema: Schema): Json[] | null {
  if (Array.isArray(schema["enum"])) return schema["enum"] as Json[];
  if ("const" in schema) return [schema["const"] as Json];
  return null;
}

const isNull = (schema: Schema) => schema["type"] === "null" || (choicesOf(schema)?.length === 1 && choicesOf(schema)?.[0] === null);

/** A field that also takes null: an optional boolean becomes a choice (yes, no, none). */
function orNull(field: Field): Field {
  if (field.kind === "boolean") return { ...field, kind: "choice", options: [true, false], nullable: true };
  return { ...field, nullable: true };
}

/** The form field a schema describes (`root`: where its `$ref`s point). */
export function fieldOf(node: unknown, root: Schema = isRecord(node) ? node : {}, depth = 0): Field {
  const schema = resolve(node, root);
  const common: Common = {
    title: text(schema["title"]),
    description: text(schema["description"]),
    nullable: false,
    default: "default" in schema ? schema["default"] : undefined,
  };
  if (depth > MAX_DEPTH) return { ...common, kind: "json" };
  const alternatives = schema["anyOf"] ?? schema["oneOf"];
  if (Array.isArray(alternatives)) {
    const resolved = alternatives.map((a) => resolve(a, root));
    const others = resolved.filter((a) => !isNull(a));
    const nullable = others.length < resolved.length;
    if (others.length === 1) {
      const inner = fieldOf(others[0], root, depth + 1);
      const field: Field = {
        ...inner,
        title: common.title ?? inner.title,
        description: common.description ?? inner.description,
        default: common.default !== undefined ? common.default : inner.default,
      };
      return nullable ? orNull(field) : field;
    }
    const choices = others.map(choicesOf);
    if (others.length > 0 && choices.every((c) => c !== null)) {
      return { ...common, kind: "choice", options: choices.flat() as Json[], nullable };
    }
    return { ...common, kind: "json", nullable };
  }

  let type = schema["type"];
  let nullable = false;
  if (Array.isArray(type)) {
    nullable = type.includes("null");
    const rest = type.filter((t) => t !== "null");
    type = rest.length === 1 ? rest[0] : rest.length === 0 ? "null" : "mixed";
  }
  const finish = (field: Field): Field => (nullable ? orNull(field) : field);
  const choices = choicesOf(schema);
  if (choices) {
    const options = choices.filter((c) => c !== null);
    return { ...common, kind: "choice", options, nullable: nullable || options.length < choices.length };
  }
  switch (type) {
    case "string": {
      const format = schema["format"];
      return finish({
        ...common,
        kind: "text",
        format: format === "date" || format === "time" || format === "date-time" ? format : "plain",
        minLength: num(schema["minLength"]),
        maxLength: num(schema["maxLength"]),
        pattern: text(schema["pattern"]),
      });
    }
    case "integer":
    case "number":
      return finish({
        ...common,
        kind: type,
        minimum: num(schema["minimum"]),
        maximum: num(schema["maximum"]),
        exclusiveMinimum: num(schema["exclusiveMinimum"]),
        exclusiveMaximum: num(schema["exclusiveMaximum"]),
      });
    case "boolean":
      return finish({ ...common, kind: "boolean" });
    case "array": {
      const items = fieldOf(schema["items"], root, depth + 1);
      const primitive = items.kind === "text" || items.kind === "integer" || items.kind === "number" || items.kind === "boolean" || items.kind === "choice";
      if (!primitive || "prefixItems" in schema) return finish({ ...common, kind: "json" });
      return finish({ ...common, kind: "array", items, minItems: num(schema["minItems"]), maxItems: num(schema["maxItems"]) });
    }
    case "object":
    case undefined: {
      const properties = schema["properties"];
      if (!isRecord(properties) || (type === undefined && Object.keys(properties).length === 0)) return finish({ ...common, kind: "json" });
      const required = new Set(Array.isArray(schema["required"]) ? (schema["required"] as unknown[]) : []);
      return finish({
        ...common,
        kind: "object",
        properties: Object.entries(properties).map(([name, property]) => ({
          name,
          required: required.has(name),
          field: fieldOf(property, root, depth + 1),
        })),
      });
    }
    default:
      return finish({ ...common, kind: "json" });
  }
}

/** The label of a property: its title, else its name. */
export function labelOf(property: Property): string {
  return property.field.title ?? property.name;
}

// --- drafts ---------------------------------------------------------------------

const pad = (n: number) => String(n).padStart(2, "0");

/** An ISO date-time as a `datetime-local` input shows it (the browser's time zone). */
export function toLocalDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const local = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return date.getSeconds() || date.getMilliseconds() ? `${local}:${pad(date.getSeconds())}` : local;
}

/** A `datetime-local` input's value as RFC 3339, with the browser's offset (the
 * server's `date-time` format wants one). */
export function fromLocalDateTime(local: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!match) return null;
  const [year, month, day, hours, minutes, seconds = "0"] = match.slice(1).map((part) => part ?? "0");
  const date = new Date(Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes), Number(seconds));
  if (Number.isNaN(date.getTime()) || date.getDate() !== Number(day)) return null;
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const zone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${year}-${month}-${day}T${hours}:${minutes}:${pad(Number(seconds))}${zone}`;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The form's starting state for `field`: `value` (the prompt's `initial`, or the
 * part of it for this field) if given, else the schema's default. */
export function draftOf(field: Field, value?: unknown): Draft {
  const start = value !== undefined ? value : field.default;
  switch (field.kind) {
    case "text": {
      if (typeof start !== "string") return { kind: "text", text: "" };
      return { kind: "text", text: field.format === "date-time" ? toLocalDateTime(start) : start };
    }
    case "integer":
    case "number":
      return { kind: "text", text: typeof start === "number" ? String(start) : "" };
    case "json":
      return { kind: "text", text: start === undefined || (start === null && field.nullable) ? "" : JSON.stringify(start, null, 2) };
    case "boolean":
      return { kind: "boolean", value: start === true };
    case "choice": {
      const index = field.options.findIndex((option) => equal(option, start));
      // A single-valued Literal has nothing to choose.
      return { kind: "choice", index: index < 0 && field.options.length === 1 && !field.nullable && start === undefined ? 0 : index };
    }
    case "object": {
      const values = isRecord(start) ? start : {};
      const fields: Record<string, Draft> = {};
      for (const property of field.properties) fields[property.name] = draftOf(property.field, values[property.name]);
      return { kind: "object", present: !field.nullable || isRecord(start), fields };
    }
    case "array":
      return {
        kind: "array",
        present: !field.nullable || Array.isArray(start),
        items: Array.isArray(start) ? start.map((item) => draftOf(field.items, item)) : [],
      };
  }
}

// --- checking ---------------------------------------------------------------------

/** A field's path as the server names it in a refusal: `a.b[0]`, "" for the root. */
export function joinPath(base: string, part: string | number): string {
  if (typeof part === "number") return `${base}[${part}]`;
  return base === "" ? part : `${base}.${part}`;
}

export interface Checked {
  ok: boolean;
  /** The answer to send (only when `ok`). */
  value: Json;
  /** Path -> what is wrong there. */
  errors: Record<string, string>;
}

/** Check the form against its schema and build the answer. */
export function checkForm(field: Field, draft: Draft): Checked {
  const errors: Record<string, string> = {};
  const value = read(field, draft, "", true, errors);
  const ok = Object.keys(errors).length === 0;
  return { ok, value: value === undefined ? null : value, errors };
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The field's value (undefined: left out of its object), or an error recorded at `path`. */
function read(field: Field, draft: Draft, path: string, required: boolean, errors: Record<string, string>): Json | undefined {
  const fail = (message: string) => {
    errors[path] = message;
    return undefined;
  };
  const empty = () => (field.nullable ? null : required ? fail("Required.") : undefined);
  switch (field.kind) {
    case "text":
    case "integer":
    case "number":
    case "json": {
      const typed = draft.kind === "text" ? draft.text : "";
      if (typed.trim() === "") return empty();
      if (field.kind === "json") {
        try {
          return JSON.parse(typed) as Json;
        } catch {
          return fail("Not valid JSON.");
        }
      }
      if (field.kind === "text") return readText(field, typed, fail);
      return readNumber(field, typed.trim(), fail);
    }
    case "boolean":
      return draft.kind === "boolean" ? draft.value : false;
    case "choice": {
      const index = draft.kind === "choice" ? draft.index : -1;
      if (index < 0 || index >= field.options.length) return field.nullable ? null : required ? fail("Choose one.") : undefined;
      return field.options[index] as Json;
    }
    case "object": {
      if (draft.kind !== "object" || !draft.present) return empty();
      const out: Record<string, Json> = {};
      for (const property of field.properties) {
        const inner = draft.fields[property.name] ?? draftOf(property.field);
        const value = read(property.field, inner, joinPath(path, property.name), property.required, errors);
        if (value !== undefined) out[property.name] = value;
      }
      return out;
    }
    case "array": {
      if (draft.kind !== "array" || !draft.present) return empty();
      const items = draft.items.map((item, i) => read(field.items, item, joinPath(path, i), true, errors));
      if (field.minItems !== null && items.length < field.minItems) return fail(`At least ${field.minItems} item${field.minItems === 1 ? "" : "s"}.`);
      if (field.maxItems !== null && items.length > field.maxItems) return fail(`At most ${field.maxItems} item${field.maxItems === 1 ? "" : "s"}.`);
      return items.every((item) => item !== undefined) ? (items as Json[]) : undefined;
    }
  }
}

function readText(field: Extract<Field, { kind: "text" }>, typed: string, fail: (message: string) => undefined): Json | undefined {
  switch (field.format) {
    case "date":
      return /^\d{4}-\d{2}-\d{2}$/.test(typed) && !Number.isNaN(Date.parse(`${typed}T00:00:00Z`)) ? typed : fail("Enter a date (YYYY-MM-DD).");
    case "time": {
      const match = /^(\d{2}):(\d{2})(:\d{2}(\.\d+)?)?$/.exec(typed);
      if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) return fail("Enter a time (HH:MM:SS).");
      return match[3] ? typed : `${typed}:00`;
    }
    case "date-time":
      return fromLocalDateTime(typed) ?? fail("Enter a date and time.");
    case "plain": {
      const length = [...typed].length;
      if (field.minLength !== null && length < field.minLength) return fail(`At least ${field.minLength} character${field.minLength === 1 ? "" : "s"}.`);
      if (field.maxLength !== null && length > field.maxLength) return fail(`At most ${field.maxLength} character${field.maxLength === 1 ? "" : "s"}.`);
      if (field.pattern !== null && !matches(field.pattern, typed)) return fail(`Must match the pattern ${field.pattern}.`);
      return typed;
    }
  }
}

/** Whether `value` matches a JSON Schema pattern (anywhere in it, as the spec says);
 * true for a pattern JavaScript cannot compile (see the module docstring). */
export function matches(pattern: string, value: string): boolean {
  let compiled: RegExp;
  try {
    compiled = new RegExp(pattern, "u");
  } catch {
    return true;
  }
  return compiled.test(value);
}

function readNumber(field: Extract<Field, { kind: "integer" | "number" }>, typed: string, fail: (message: string) => undefined): Json | undefined {
  if (field.kind === "integer" ? !INTEGER.test(typed) : !NUMBER.test(typed)) return fail(field.kind === "integer" ? "Enter a whole number." : "Enter a number.");
  const value = Number(typed);
  if (!Number.isFinite(value) || (field.kind === "integer" && !Number.isSafeInteger(value))) return fail("Too large.");
  if (field.minimum !== null && value < field.minimum) return fail(`Must be at least ${field.minimum}.`);
  if (field.maximum !== null && value > field.maximum) return fail(`Must be at most ${field.maximum}.`);
  if (field.exclusiveMinimum !== null && value <= field.exclusiveMinimum) return fail(`Must be more than ${field.exclusiveMinimum}.`);
  if (field.exclusiveMaximum !== null && value >= field.exclusiveMaximum) return fail(`Must be less than ${field.exclusiveMaximum}.`);
  return value;
}

// --- the server's refusals -----------------------------------------------------------

/** Every path the form has a field at (arrays: their own path; items come and go). */
export function pathsOf(field: Field, draft: Draft, path = ""): string[] {
  const paths = [path];
  if (field.kind === "object" && draft.kind === "object") {
    for (const property of field.properties) {
      const inner = draft.fields[property.name];
      if (inner) paths.push(...pathsOf(property.field, inner, joinPath(path, property.name)));
    }
  } else if (field.kind === "array" && draft.kind === "array") {
    draft.items.forEach((_, i) => paths.push(joinPath(path, i)));
  }
  return paths;
}

/**
 * The field a server's refusal (400 `invalid_input`) names, or null for the form as a
 * whole. The server says where as `… at PATH: …` (`a.b[0]`, as `joinPath` writes),
 * and a missing property as `'name' is a required property` at its object.
 */
export function fieldOfRefusal(message: string, paths: string[]): string | null {
  const known = new Set(paths);
  const at = /\bat ([A-Za-z0-9_$.[\]-]+?):(?:\s|$)/.exec(message)?.[1] ?? "";
  const missing = /'([^']+)' is a required property/.exec(message)?.[1];
  // The nearest field the form has (an item named by its index may be gone).
  for (let path = missing !== undefined ? joinPath(at, missing) : at; path !== ""; ) {
    if (known.has(path)) return path;
    const parent = path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
    path = parent === path ? "" : parent;
  }
  return null;
}
