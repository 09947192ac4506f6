import { describe, expect, it } from "vitest";
import type { Parameter } from "../api/types";
import type { Draft } from "../inputs/schema";
import { argumentsDraft, argumentsForm, checkArguments, pythonDefault, refusedArgumentPath } from "./arguments";

const INTEGER = { type: "integer" };
const params: Parameter[] = [
  { name: "count", annotation: "int", schema: INTEGER },
  { name: "label", annotation: "str", default: "'numbers'", schema: { type: "string" } },
];

/** The draft with `texts` typed into the text fields named. */
function typed(draft: Draft, texts: Record<string, string>): Draft {
  if (draft.kind !== "object") throw new Error("not an object draft");
  const fields = { ...draft.fields };
  for (const [name, text] of Object.entries(texts)) fields[name] = { kind: "text", text };
  return { ...draft, fields };
}

function run(parameters: Parameter[], texts: Record<string, string>) {
  const form = argumentsForm(parameters);
  return checkArguments(form, typed(argumentsDraft(form), texts));
}

const data = (check: ReturnType<typeof run>) => (check.ok ? check.arguments.map((a) => a.data) : check.errors);

describe("Run… arguments", () => {
  it("draws a field per parameter from its schema, labelled by its name", () => {
    const form = argumentsForm([...params, { name: "opaque", annotation: "Thing" }, { name: "flag", kind: "keyword", default: "False" }]);
    expect(form.field.properties.map((p) => [p.name, p.field.kind, p.field.title, p.required])).toEqual([
      ["count", "integer", "count", true],
      ["label", "text", "label", false],
      ["opaque", "json", "opaque", true],
    ]);
    expect(form.keywordOnly.map((p) => p.name)).toEqual(["flag"]);
    expect(form.field.properties[1]?.field.description).toBe("str. Default 'numbers'.");
  });

  it("fills readable defaults in and leaves them out of what is sent while untouched", () => {
    expect(data(run(params, { count: "3" }))).toEqual([3]);
    expect(data(run(params, { count: "3", label: "x" }))).toEqual([3, "x"]);
  });

  it("refuses a wrong value at its field before anything is sent", () => {
    expect(data(run(params, { count: "three" }))).toEqual({ count: "Enter a whole number." });
    expect(data(run(params, { count: "" }))).toEqual({ count: "Required." });
  });

  it("checks a Pydantic model's nested fields through its $defs", () => {
    const guest = {
      type: "object",
      title: "Guest",
      properties: { name: { type: "string" }, home: { $ref: "#/$defs/Home" } },
      required: ["name", "home"],
      $defs: { Home: { type: "object", properties: { floor: INTEGER }, required: ["floor"] } },
    };
    const form = argumentsForm([{ name: "guest", schema: guest }]);
    const draft: Draft = {
      kind: "object",
      present: true,
      fields: {
        guest: { kind: "object", present: true, fields: { name: { kind: "text", text: "Ada" }, home: { kind: "object", present: true, fields: { floor: { kind: "text", text: "2.5" } } } } },
      },
    };
    expect(checkArguments(form, draft)).toEqual({ ok: false, errors: { "guest.home.floor": "Enter a whole number." } });
    const fixed = structuredClone(draft) as Extract<Draft, { kind: "object" }>;
    ((fixed.fields.guest as Extract<Draft, { kind: "object" }>).fields.home as Extract<Draft, { kind: "object" }>).fields.floor = { kind: "text", text: "2" };
    const check = checkArguments(form, fixed);
    expect(check.ok && check.arguments.map((a) => a.data)).toEqual([{ name: "Ada", home: { floor: 2 } }]);
  });

  it("refuses a gap: arguments are positional", () => {
    const three: Parameter[] = [{ name: "a" }, { name: "b", default: "make()" }, { name: "c", default: "2" }];
    expect(data(run(three, { a: "1", c: "5" }))).toEqual({ b: "Give b a value: a later argument is set, and arguments are positional." });
    // Left to its default, an unreadable one is fine when nothing after it is set.
    expect(data(run(three, { a: "1" }))).toEqual([1]);
  });

  it("spreads *args from a JSON array, and sends the defaults before them", () => {
    const variadic: Parameter[] = [{ name: "first" }, { name: "second", default: "0" }, { name: "rest", kind: "var_positional" }];
    expect(data(run(variadic, { first: "1", rest: "[2, 3]" }))).toEqual([1, 0, 2, 3]);
    expect(data(run(variadic, { first: "1", rest: "4" }))).toEqual({ rest: "*rest takes a JSON array of extra arguments." });
  });

  it("offers a yes/no with an unreadable default as a choice whose blank is the default", () => {
    const form = argumentsForm([{ name: "on", schema: { type: "boolean" }, default: "DEFAULT_ON" }]);
    expect(form.field.properties[0]?.field.kind).toBe("choice");
    expect(checkArguments(form, argumentsDraft(form))).toEqual({ ok: true, arguments: [] });
  });
});

describe("Python defaults", () => {
  it("reads literals and enum members, and nothing else", () => {
    expect(["None", "True", "False", "3", "-1.5", "'a b'", '"q"', "<Size.SMALL: 'small'>", "<Level.HIGH: 3>"].map(pythonDefault)).toEqual([
      null,
      true,
      false,
      3,
      -1.5,
      "a b",
      "q",
      "small",
      3,
    ]);
    expect(["[1, 2]", "datetime.date(2024, 1, 1)", "'it\\'s'", "inf"].map(pythonDefault)).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe("the server's refusals", () => {
  it("name the field of the argument and the place inside it", () => {
    expect(refusedArgumentPath("argument 'guest' (arguments[4]) of book at home.floor: expected integer")).toBe("guest.home.floor");
    expect(refusedArgumentPath("argument 'tags' (arguments[1]) of book at [2]: expected string")).toBe("tags[2]");
    expect(refusedArgumentPath("argument 'copies' (arguments[4]) of place: expected integer")).toBe("copies");
    expect(refusedArgumentPath("book takes 2 argument(s), but 3 were given")).toBeNull();
  });
});
