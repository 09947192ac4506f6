import { describe, expect, it } from "vitest";
import type { Parameter } from "../api/types";
import { checkArguments } from "./arguments";

const params: Parameter[] = [{ name: "count" }, { name: "label", default: "'numbers'" }];

describe("Run… arguments", () => {
  it("turns JSON fields into positional values, leaving trailing defaults out", () => {
    expect(checkArguments(params, ["3", ""])).toEqual({ ok: true, arguments: [{ format: "json", data: 3, size: 1 }] });
    const both = checkArguments(params, ["3", '"x"']);
    expect(both.ok && both.arguments.map((a) => a.data)).toEqual([3, "x"]);
  });

  it("refuses invalid JSON and missing required values", () => {
    const check = checkArguments(params, ["{", ""]);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.errors[0]).toMatch(/Not valid JSON/);
    expect(!checkArguments(params, ["", ""]).ok && (checkArguments(params, ["", ""]) as { errors: Record<number, string> }).errors[0]).toBe("Required.");
  });

  it("refuses a gap: arguments are positional", () => {
    const three: Parameter[] = [{ name: "a" }, { name: "b", default: "1" }, { name: "c", default: "2" }];
    const check = checkArguments(three, ["1", "", "5"]);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.errors[1]).toMatch(/Give b a value/);
  });

  it("spreads *args from a JSON array", () => {
    const check = checkArguments([{ name: "first" }, { name: "rest", kind: "var_positional" }], ["1", "[2, 3]"]);
    expect(check.ok && check.arguments.map((a) => a.data)).toEqual([1, 2, 3]);
    expect(checkArguments([{ name: "rest", kind: "var_positional" }], ["4"]).ok).toBe(false);
  });
});
