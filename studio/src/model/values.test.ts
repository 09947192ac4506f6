import { describe, expect, it } from "vitest";
import { fromData, fromJson, renderTemplate, toDisplay, toText } from "./values";

const text = (data: unknown) => toText(fromData(data));

describe("value display", () => {
  it("shows JSON types as Python would", () => {
    expect(text(null)).toBe("None");
    expect(text(true)).toBe("True");
    expect(text([1, "a", { b: 2 }])).toBe('[1, "a", {"b": 2}]');
  });

  it("shows tagged types by their type", () => {
    expect(text({ $: "tuple", v: [1] })).toBe("(1,)");
    expect(text({ $: "set", v: [] })).toBe("set()");
    expect(text({ $: "frozenset", v: [1, 2] })).toBe("frozenset({1, 2})");
    expect(text({ $: "bytes", v: btoa("hi\n") })).toBe('b"hi\\n"');
    expect(text({ $: "datetime", v: "2024-01-02T03:04:05+00:00", z: "Europe/London" })).toBe(
      "datetime(2024-01-02T03:04:05+00:00 [Europe/London])",
    );
    expect(text({ $: "decimal", v: "1.10" })).toBe("decimal(1.10)");
    expect(text({ $: "int", v: "123456789012345678901234567890" })).toBe("123456789012345678901234567890");
    expect(text({ $: "dict", v: [[1, "one"]] })).toBe('{1: "one"}');
    expect(text({ $: "timedelta", v: [1, 30, 0] })).toBe("timedelta(86430 s)");
    expect(text({ $: "dataclass", c: "shop:Point", v: { x: 1, y: { $: "tuple", v: [2] } } })).toBe(
      'Point({"x": 1, "y": (2,)})',
    );
    expect(text({ $: "enum", c: "shop:Size", n: "LARGE", v: "large" })).toBe("Size.LARGE");
  });

  it("never unpickles: a pickled value is named by its type", () => {
    expect(text({ $: "pickle", t: "mod.Thing", v: "gASV" })).toBe("<pickled mod.Thing>");
    expect(toText(toDisplay({ format: "pickle", data: "xx", label: "mod.Other" }))).toBe("<pickled mod.Other>");
  });

  it("shows handles and blob references", () => {
    expect(text({ $: "execution", v: "r:2:1" })).toBe("<execution r:2:1>");
    expect(toDisplay({ format: "json", blob: "ab", size: 300 })).toEqual({ kind: "blob", key: "ab", size: 300 });
  });
});

describe("plain JSON in", () => {
  it("wraps JSON as a value, escaping dicts that have a '$' key", () => {
    expect(fromJson([1, { a: 2 }])).toEqual({ format: "json", data: [1, { a: 2 }], size: 11 });
    expect(fromJson({ $: "x" }).data).toEqual({ $: "dict", v: [["$", "x"]] });
  });
});

describe("log templates", () => {
  it("fills placeholders from values and keeps the rest", () => {
    const parts = renderTemplate("squared {n} -> {result!r} {{literal}} {missing}", {
      n: { format: "json", data: 3 },
      result: { format: "json", data: "nine" },
    });
    expect(parts).toEqual(["squared ", { name: "n", text: "3" }, " -> ", { name: "result", text: "nine" }, " {literal} {missing}"]);
  });
});
