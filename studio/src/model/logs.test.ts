import { describe, expect, it } from "vitest";
import type { LogEntry, LogLevel } from "../api/types";
import { isFiltering, keepsLine, lineMessage, logFileName, logFileText, mergeLines, NO_FILTER, toLine } from "./logs";

function entry(level: LogLevel, template: string, values: LogEntry["values"] = {}, at = 1_700_000_000, execution = "R:2:1"): LogEntry {
  return { execution_id: execution, timestamp: at, level, template, values };
}

const haystack = entry("info", "Haystack {tag} of {count}", { tag: { format: "json", data: "Alpha" }, count: { format: "json", data: 3 }, extra: { format: "json", data: [1, 2] } });

describe("log search", () => {
  it("reads the message as shown: placeholders filled, other values as name=value", () => {
    expect(lineMessage(haystack)).toBe("Haystack Alpha of 3 extra=[1, 2]");
  });

  it("matches text anywhere in the message, ignoring case, across template and values", () => {
    const wanted = (text: string) => keepsLine({ ...NO_FILTER, text }, haystack);
    expect(wanted("haystack")).toBe(true);
    expect(wanted("ALPHA OF 3")).toBe(true);
    expect(wanted("  alpha  ")).toBe(true);
    expect(wanted("beta")).toBe(false);
  });

  it("keeps a level and those above it, stdout and stderr ranking with info", () => {
    const levels: LogLevel[] = ["debug", "info", "stdout", "stderr", "warning", "error"];
    const kept = (minimum: "debug" | "info" | "warning" | "error") =>
      levels.filter((level) => keepsLine({ text: "", minimum }, entry(level, "x")));
    expect(kept("debug")).toEqual(levels);
    expect(kept("info")).toEqual(["info", "stdout", "stderr", "warning", "error"]);
    expect(kept("warning")).toEqual(["warning", "error"]);
    expect(kept("error")).toEqual(["error"]);
  });

  it("knows when it filters at all", () => {
    expect(isFiltering(NO_FILTER)).toBe(false);
    expect(isFiltering({ text: "  ", minimum: "debug" })).toBe(false);
    expect(isFiltering({ text: "x", minimum: "debug" })).toBe(true);
    expect(isFiltering({ text: "", minimum: "warning" })).toBe(true);
  });

  it("merges the server's matches with live lines once each, in time order", () => {
    const a = toLine(entry("info", "a", {}, 3));
    const b = toLine(entry("info", "b", {}, 1));
    const c = toLine(entry("info", "c", {}, 2));
    expect(mergeLines([a, b], [toLine(entry("info", "a", {}, 3)), c]).map((l) => l.template)).toEqual(["b", "c", "a"]);
  });
});

describe("log file", () => {
  it("writes time, level, step and message per line, tab-separated", () => {
    const lines = [haystack, entry("stderr", "two\nlines", {}, 1_700_000_001.5, "R:3:2")];
    const text = logFileText(lines, (id) => `step ${id}`);
    expect(text).toBe(
      "2023-11-14T22:13:20.000Z\tinfo\tstep R:2:1\tHaystack Alpha of 3 extra=[1, 2]\n" + "2023-11-14T22:13:21.500Z\tstderr\tstep R:3:2\ttwo\\nlines\n",
    );
  });

  it("is named after the run and the filter", () => {
    expect(logFileName("R1", NO_FILTER)).toBe("R1-logs.txt");
    expect(logFileName("R1", { text: "time out!", minimum: "warning" })).toBe("R1-logs-warning-time_out_.txt");
  });
});
