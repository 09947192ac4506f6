import { describe, expect, it } from "vitest";
import { checkForm, type Draft, draftOf, type Field, fieldOf, fieldOfRefusal, fromLocalDateTime, pathsOf, toLocalDateTime } from "./schema";

/** `Label` of docs/inputs.md, as Pydantic 2 writes its schema. */
const LABEL = {
  title: "Label",
  type: "object",
  properties: {
    sentiment: { enum: ["positive", "neutral", "negative"], title: "Sentiment", type: "string" },
    topic: { enum: ["product", "shipping", "support", "other"], title: "Topic", type: "string" },
    confidence: { maximum: 5, minimum: 1, title: "Confidence", type: "integer" },
    notes: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Notes" },
  },
  required: ["sentiment", "topic", "confidence"],
};

/** Nested models, an enum class, dates, arrays and an optional boolean, via `$defs`. */
const ORDER = {
  $defs: {
    Address: {
      properties: { city: { title: "City", type: "string", minLength: 2 }, zip: { pattern: "^[0-9]{5}$", title: "Zip", type: "string" } },
      required: ["city"],
      title: "Address",
      type: "object",
    },
    Colour: { enum: ["red", "green"], title: "Colour", type: "string" },
  },
  properties: {
    ship_to: { $ref: "#/$defs/Address" },
    colour: { $ref: "#/$defs/Colour", default: "green" },
    on: { format: "date", title: "On", type: "string" },
    at: { format: "time", title: "At", type: "string" },
    due: { format: "date-time", title: "Due", type: "string" },
    tags: { items: { type: "string" }, title: "Tags", type: "array", maxItems: 2 },
    ratio: { exclusiveMinimum: 0, exclusiveMaximum: 1, title: "Ratio", type: "number" },
    gift: { anyOf: [{ type: "boolean" }, { type: "null" }], default: null, title: "Gift" },
    kind: { const: "order", title: "Kind", type: "string" },
    extra: { additionalProperties: { type: "integer" }, title: "Extra", type: "object" },
  },
  required: ["ship_to", "on", "at", "due", "ratio"],
  title: "Order",
  type: "object",
};

function object(field: Field) {
  if (field.kind !== "object") throw new Error(`expected an object, got ${field.kind}`);
  return Object.fromEntries(field.properties.map((p) => [p.name, p]));
}

/** `draft` with the text of the field at `path` (dotted) set to `text`. */
function typed(draft: Draft, path: string, text: string | boolean | number): Draft {
  const [head, ...rest] = path.split(".");
  if (draft.kind === "object" && head !== undefined) {
    const inner = draft.fields[head]!;
    return { ...draft, fields: { ...draft.fields, [head]: rest.length ? typed(inner, rest.join("."), text) : leaf(inner, text) } };
  }
  throw new Error(`no field at ${path}`);
}

function leaf(draft: Draft, value: string | boolean | number): Draft {
  if (draft.kind === "text") return { kind: "text", text: String(value) };
  if (draft.kind === "boolean") return { kind: "boolean", value: Boolean(value) };
  if (draft.kind === "choice") return { kind: "choice", index: Number(value) };
  throw new Error(`cannot type into ${draft.kind}`);
}

describe("schema to form", () => {
  it("maps a Pydantic model: Literal choices, a bounded integer, an optional string", () => {
    const fields = object(fieldOf(LABEL));
    expect(fields.sentiment).toMatchObject({ required: true, field: { kind: "choice", options: ["positive", "neutral", "negative"], title: "Sentiment" } });
    expect(fields.confidence).toMatchObject({ required: true, field: { kind: "integer", minimum: 1, maximum: 5 } });
    expect(fields.notes).toMatchObject({ required: false, field: { kind: "text", format: "plain", nullable: true, default: null, title: "Notes" } });
  });

  it("follows $refs into $defs, keeps formats and bounds, and falls back to JSON for what it cannot draw", () => {
    const fields = object(fieldOf(ORDER));
    const shipTo = fields.ship_to!.field;
    expect(object(shipTo).city).toMatchObject({ required: true, field: { kind: "text", minLength: 2 } });
    expect(fields.colour!.field).toMatchObject({ kind: "choice", options: ["red", "green"], default: "green" });
    expect(fields.on!.field).toMatchObject({ kind: "text", format: "date" });
    expect(fields.at!.field).toMatchObject({ kind: "text", format: "time" });
    expect(fields.due!.field).toMatchObject({ kind: "text", format: "date-time" });
    expect(fields.tags!.field).toMatchObject({ kind: "array", items: { kind: "text" }, maxItems: 2 });
    expect(fields.ratio!.field).toMatchObject({ kind: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 });
    // An optional boolean needs a third answer (none): a choice.
    expect(fields.gift!.field).toMatchObject({ kind: "choice", options: [true, false], nullable: true });
    expect(fields.kind!.field).toMatchObject({ kind: "choice", options: ["order"] });
    expect(fields.extra!.field.kind).toBe("json");
  });

  it("maps the primitives a prompt's model can be", () => {
    expect(fieldOf({ type: "string" })).toMatchObject({ kind: "text", format: "plain" });
    expect(fieldOf({ type: "integer" }).kind).toBe("integer");
    expect(fieldOf({ type: "number" }).kind).toBe("number");
    expect(fieldOf({ type: "boolean" }).kind).toBe("boolean");
    expect(fieldOf({ type: "string", format: "date-time" })).toMatchObject({ kind: "text", format: "date-time" });
    expect(fieldOf({ type: ["integer", "null"] })).toMatchObject({ kind: "integer", nullable: true });
    expect(fieldOf({ anyOf: [{ type: "string" }, { type: "integer" }] }).kind).toBe("json");
    expect(fieldOf({}).kind).toBe("json");
  });

  it("gives up on a recursive model at a depth, as a JSON field", () => {
    const tree = { $defs: { Node: { type: "object", properties: { child: { $ref: "#/$defs/Node" } } } }, $ref: "#/$defs/Node" };
    let field = fieldOf(tree);
    let depth = 0;
    while (field.kind === "object") {
      field = field.properties[0]!.field;
      depth++;
    }
    expect(field.kind).toBe("json");
    expect(depth).toBeGreaterThan(3);
  });
});

describe("drafts", () => {
  it("prefills defaults, then the prompt's initial over them", () => {
    const field = fieldOf(ORDER);
    const fresh = draftOf(field) as Extract<Draft, { kind: "object" }>;
    expect(fresh.fields.colour).toEqual({ kind: "choice", index: 1 });
    expect(fresh.fields.gift).toEqual({ kind: "choice", index: -1 });
    expect(fresh.fields.kind).toEqual({ kind: "choice", index: 0 }); // nothing to choose
    const initial = draftOf(fieldOf(LABEL), { sentiment: "neutral", topic: "other", confidence: 4, notes: null }) as Extract<Draft, { kind: "object" }>;
    expect(initial.fields).toEqual({
      sentiment: { kind: "choice", index: 1 },
      topic: { kind: "choice", index: 3 },
      confidence: { kind: "text", text: "4" },
      notes: { kind: "text", text: "" },
    });
  });

  it("shows a date-time in local time and sends it back with the offset", () => {
    const sent = fromLocalDateTime("2026-03-04T05:06")!;
    expect(sent).toMatch(/^2026-03-04T05:06:00[+-]\d{2}:\d{2}$/);
    expect(toLocalDateTime(sent)).toBe("2026-03-04T05:06");
    expect(new Date(sent).getTime()).toBe(new Date(2026, 2, 4, 5, 6).getTime());
    expect(fromLocalDateTime("2026-02-30T05:06")).toBeNull();
  });
});

describe("checking", () => {
  const label = fieldOf(LABEL);

  it("builds the answer, leaving an empty optional field as its null", () => {
    let draft = draftOf(label);
    draft = typed(draft, "sentiment", 0);
    draft = typed(draft, "topic", 1);
    draft = typed(draft, "confidence", " 5 ");
    expect(checkForm(label, draft)).toEqual({ ok: true, value: { sentiment: "positive", topic: "shipping", confidence: 5, notes: null }, errors: {} });
    expect(checkForm(label, typed(draft, "notes", "late")).value).toMatchObject({ notes: "late" });
  });

  it("refuses what the schema does not allow, each error at its field", () => {
    const draft = typed(draftOf(label), "confidence", "9");
    expect(checkForm(label, draft)).toMatchObject({
      ok: false,
      errors: { sentiment: "Choose one.", topic: "Choose one.", confidence: "Must be at most 5." },
    });
    expect(checkForm(label, typed(draft, "confidence", "0")).errors.confidence).toBe("Must be at least 1.");
    expect(checkForm(label, typed(draft, "confidence", "2.5")).errors.confidence).toBe("Enter a whole number.");
    expect(checkForm(label, typed(draft, "confidence", "")).errors.confidence).toBe("Required.");
  });

  it("checks nested fields, formats, exclusive bounds, lengths, patterns and item counts", () => {
    const order = fieldOf(ORDER);
    let draft = draftOf(order);
    draft = typed(draft, "ship_to.city", "X");
    draft = typed(draft, "ship_to.zip", "1234");
    draft = typed(draft, "on", "2026-13-01x");
    draft = typed(draft, "at", "25:00");
    draft = typed(draft, "due", "soon");
    draft = typed(draft, "ratio", "1");
    draft = typed(draft, "extra", "{");
    const tags = { kind: "array" as const, present: true, items: ["a", "b", "c"].map((text) => ({ kind: "text" as const, text })) };
    draft = { ...(draft as Extract<Draft, { kind: "object" }>), fields: { ...(draft as Extract<Draft, { kind: "object" }>).fields, tags } };
    expect(checkForm(order, draft).errors).toEqual({
      "ship_to.city": "At least 2 characters.",
      "ship_to.zip": "Must match the pattern ^[0-9]{5}$.",
      on: "Enter a date (YYYY-MM-DD).",
      at: "Enter a time (HH:MM:SS).",
      due: "Enter a date and time.",
      ratio: "Must be less than 1.",
      tags: "At most 2 items.",
      extra: "Not valid JSON.",
    });
    draft = typed(draft, "ship_to.city", "Oslo");
    draft = typed(draft, "ship_to.zip", "01234");
    draft = typed(draft, "on", "2026-12-01");
    draft = typed(draft, "at", "09:30");
    draft = typed(draft, "due", "2026-12-01T09:30");
    draft = typed(draft, "ratio", "0.5");
    draft = typed(draft, "extra", '{"a": 1}');
    draft = { ...(draft as Extract<Draft, { kind: "object" }>), fields: { ...(draft as Extract<Draft, { kind: "object" }>).fields, tags: { ...tags, items: tags.items.slice(0, 2) } } };
    const checked = checkForm(order, draft);
    expect(checked.errors).toEqual({});
    expect(checked.value).toMatchObject({
      ship_to: { city: "Oslo", zip: "01234" },
      colour: "green",
      on: "2026-12-01",
      at: "09:30:00",
      ratio: 0.5,
      tags: ["a", "b"],
      gift: null,
      kind: "order",
      extra: { a: 1 },
    });
  });

  it("skips a pattern JavaScript cannot compile rather than refusing every answer", () => {
    const field = fieldOf({ type: "string", pattern: "(?P<year>\\d{4})" });
    expect(checkForm(field, { kind: "text", text: "no digits" })).toMatchObject({ ok: true, value: "no digits" });
  });

  it("checks a primitive prompt at the root", () => {
    const field = fieldOf({ type: "number", minimum: 0 });
    expect(checkForm(field, { kind: "text", text: "-1" }).errors).toEqual({ "": "Must be at least 0." });
    expect(checkForm(field, { kind: "text", text: "1e3" })).toEqual({ ok: true, value: 1000, errors: {} });
    expect(checkForm(fieldOf({ type: "boolean" }), { kind: "boolean", value: false })).toEqual({ ok: true, value: false, errors: {} });
  });
});

describe("the server's refusals", () => {
  const field = fieldOf(ORDER);
  const paths = pathsOf(field, draftOf(field, { tags: ["a"] }));

  it("lands at the field the message names, or the nearest one the form has", () => {
    // As orchestration/inputs.py words it.
    expect(fieldOfRefusal("the answer to input r1:2:1:0 is invalid at ratio: 1 is greater than or equal to the maximum of 1", paths)).toBe("ratio");
    expect(fieldOfRefusal("the answer to input r1:2:1:0 is invalid: 'ship_to' is a required property", paths)).toBe("ship_to");
    expect(fieldOfRefusal("input 'abc' at ship_to.city: expected string, got 3", paths)).toBe("ship_to.city");
    expect(fieldOfRefusal("input 'abc' at tags[0]: expected string, got 3", paths)).toBe("tags[0]");
    expect(fieldOfRefusal("input 'abc' at tags[7]: expected string, got 3", paths)).toBe("tags");
    expect(fieldOfRefusal("input 'abc' at ship_to: 'city' is a required property", paths)).toBe("ship_to.city");
    expect(fieldOfRefusal("'on' is a required property", paths)).toBe("on");
    expect(fieldOfRefusal("input 'abc' is not pending", paths)).toBeNull();
  });
});
