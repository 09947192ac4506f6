/**
 * Values as people see them: the tagged JSON tree of `docs/values.md` turned into
 * a display tree (never unpickling anything), and plain JSON typed into a form
 * turned into a `Value` the server accepts.
 */

import type { Value } from "../api/types";

export type Display =
  | { kind: "null" }
  | { kind: "boolean"; value: boolean }
  | { kind: "number"; text: string }
  | { kind: "string"; value: string }
  | { kind: "list"; type: "list" | "tuple" | "set" | "frozenset"; items: Display[] }
  | { kind: "dict"; entries: Array<[Display, Display]> }
  | { kind: "scalar"; type: string; text: string }
  | { kind: "bytes"; type: "bytes" | "bytearray"; size: number; preview: string }
  | { kind: "pickle"; type: string }
  | { kind: "execution"; id: string }
  | { kind: "asset"; id: string }
  | { kind: "model"; type: string; value: Display }
  | { kind: "blob"; key: string; size: number }
  | { kind: "unknown"; text: string };

const SCALAR_TAGS = new Set(["datetime", "date", "time", "decimal", "uuid", "int", "float"]);

function base64Bytes(text: string): Uint8Array {
  try {
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  } catch {
    return new Uint8Array();
  }
}

function bytesPreview(bytes: Uint8Array, limit = 64): string {
  let out = "";
  for (const byte of bytes.subarray(0, limit)) {
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x5c && byte !== 0x22) out += String.fromCharCode(byte);
    else if (byte === 0x0a) out += "\\n";
    else out += "\\x" + byte.toString(16).padStart(2, "0");
  }
  return bytes.length > limit ? out + "…" : out;
}

function formatTimedelta(payload: unknown): string {
  if (!Array.isArray(payload)) return String(payload);
  const [days = 0, seconds = 0, micro = 0] = payload as number[];
  const total = days * 86400 + seconds + micro / 1e6;
  return `${total} s`;
}

function decodeTagged(data: Record<string, unknown>): Display {
  const tag = String(data["$"]);
  const payload = data["v"];
  switch (tag) {
    case "tuple":
    case "set":
    case "frozenset":
      return { kind: "list", type: tag, items: Array.isArray(payload) ? payload.map(fromData) : [] };
    case "dict":
      return {
        kind: "dict",
        entries: Array.isArray(payload)
          ? (payload as unknown[][]).map((pair) => [fromData(pair[0]), fromData(pair[1])] as [Display, Display])
          : [],
      };
    case "bytes":
    case "bytearray": {
      const bytes = base64Bytes(String(payload ?? ""));
      return { kind: "bytes", type: tag, size: bytes.length, preview: bytesPreview(bytes) };
    }
    case "str":
      return { kind: "string", value: new TextDecoder().decode(base64Bytes(String(payload ?? ""))) };
    case "timedelta":
      return { kind: "scalar", type: "timedelta", text: formatTimedelta(payload) };
    case "pickle":
      return { kind: "pickle", type: String(data["t"] ?? "value") };
    case "execution":
      return { kind: "execution", id: String(payload) };
    case "asset":
      return { kind: "asset", id: String(payload) };
    case "pydantic":
    case "dataclass":
      return { kind: "model", type: String(data["c"] ?? tag), value: fromData(payload) };
    case "enum": {
      const type = String(data["c"] ?? "enum").split(":").pop();
      return { kind: "scalar", type: "enum", text: `${type}.${String(data["n"] ?? payload)}` };
    }
    default:
      if (SCALAR_TAGS.has(tag)) {
        const zone = typeof data["z"] === "string" ? ` [${data["z"]}]` : "";
        return { kind: "scalar", type: tag, text: String(payload) + zone };
      }
      return { kind: "unknown", text: JSON.stringify(data) };
  }
}

/** A tagged JSON tree (a `Value`'s `data`) as a display tree. */
export function fromData(data: unknown): Display {
  if (data === null || data === undefined) return { kind: "null" };
  if (typeof data === "boolean") return { kind: "boolean", value: data };
  if (typeof data === "number") return { kind: "number", text: String(data) };
  if (typeof data === "string") return { kind: "string", value: data };
  if (Array.isArray(data)) return { kind: "list", type: "list", items: data.map(fromData) };
  if (typeof data === "object") {
    const record = data as Record<string, unknown>;
    if ("$" in record) return decodeTagged(record);
    return {
      kind: "dict",
      entries: Object.entries(record).map(([k, v]) => [{ kind: "string", value: k }, fromData(v)] as [Display, Display]),
    };
  }
  return { kind: "unknown", text: String(data) };
}

export function toDisplay(value: Value): Display {
  if (value.blob && (value.data === undefined || value.data === null)) {
    return { kind: "blob", key: value.blob, size: value.size ?? 0 };
  }
  if (value.format === "pickle") return { kind: "pickle", type: value.label ?? "value" };
  return fromData(value.data);
}

const BRACKETS = { list: ["[", "]"], tuple: ["(", ")"], set: ["{", "}"], frozenset: ["frozenset({", "})"] } as const;

/** A compact one-line rendering (Python-like), e.g. for log lines and titles. */
export function toText(display: Display, limit = 200): string {
  const text = render(display);
  return text.length > limit ? text.slice(0, limit - 1) + "…" : text;
}

function render(d: Display): string {
  switch (d.kind) {
    case "null":
      return "None";
    case "boolean":
      return d.value ? "True" : "False";
    case "number":
      return d.text;
    case "string":
      return JSON.stringify(d.value);
    case "list": {
      const [open, close] = BRACKETS[d.type];
      if (d.type === "set" && d.items.length === 0) return "set()";
      const inner = d.items.map(render).join(", ");
      return open + inner + (d.type === "tuple" && d.items.length === 1 ? "," : "") + close;
    }
    case "dict":
      return "{" + d.entries.map(([k, v]) => `${render(k)}: ${render(v)}`).join(", ") + "}";
    case "scalar":
      return ["int", "float", "enum"].includes(d.type) ? d.text : `${d.type}(${d.text})`;
    case "bytes":
      return `b"${d.preview}"`;
    case "pickle":
      return `<pickled ${d.type}>`;
    case "execution":
      return `<execution ${d.id}>`;
    case "asset":
      return `<asset ${d.id}>`;
    case "model":
      return `${d.type.split(":").pop()}(${render(d.value)})`;
    case "blob":
      return `<stored value, ${d.size} bytes>`;
    case "unknown":
      return d.text;
  }
}

/** Log values and templates: "{name}" placeholders filled like Python's str.format. */
export function renderTemplate(template: string, values: Record<string, Value> | undefined): Array<string | { name: string; text: string }> {
  const parts: Array<string | { name: string; text: string }> = [];
  const pattern = /\{\{|\}\}|\{([^{}]*)\}/g;
  let last = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(template)) !== null) {
    if (match.index > last) parts.push(template.slice(last, match.index));
    last = pattern.lastIndex;
    if (match[0] === "{{") parts.push("{");
    else if (match[0] === "}}") parts.push("}");
    else {
      const name = (match[1] ?? "").split(/[!:]/)[0] ?? "";
      const value = values?.[name];
      if (value) {
        const display = toDisplay(value);
        parts.push({ name, text: display.kind === "string" ? display.value : toText(display) });
      } else parts.push(match[0]);
    }
  }
  if (last < template.length) parts.push(template.slice(last));
  // Merge neighbouring strings so the output stays small.
  return parts.reduce<Array<string | { name: string; text: string }>>((out, part) => {
    const prev = out[out.length - 1];
    if (typeof part === "string" && typeof prev === "string") out[out.length - 1] = prev + part;
    else out.push(part);
    return out;
  }, []);
}

// --- plain JSON in --------------------------------------------------------------

function escape(obj: unknown): unknown {
  if (Array.isArray(obj)) return obj.map(escape);
  if (obj !== null && typeof obj === "object") {
    const record = obj as Record<string, unknown>;
    if ("$" in record) {
      // A plain dict with a "$" key of its own must not read as a tag.
      return { $: "dict", v: Object.entries(record).map(([k, v]) => [k, escape(v)]) };
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, escape(v)]));
  }
  return obj;
}

/** Wrap a plain JSON value (as JSON.parse returns it) as a `Value`. */
export function fromJson(obj: unknown): Value {
  const data = escape(obj);
  const size = new TextEncoder().encode(JSON.stringify(data)).length;
  return { format: "json", data, size };
}

/** The execution ids a value refers to (result dependencies). */
export function referencedExecutions(value: Value): string[] {
  return value.executions ?? [];
}
