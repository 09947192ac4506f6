/**
 * A run's log lines, merged from two sources: pages fetched over HTTP (which carry
 * a cursor id) and live `logs` facts (which do not). A line seen through both is
 * kept once, recognised by its execution, time, level and text. And what searching
 * them means (a level and text in the message, as the server searches), and how
 * they are saved to a file.
 */

import type { LogEntry, LogLevel, LogView } from "../api/types";
import { renderTemplate, toDisplay, toText } from "./values";

export interface LogLine extends LogEntry {
  key: string;
}

export interface LogBook {
  lines: LogLine[];
  keys: Set<string>;
  /** The last HTTP cursor seen (0: none). */
  cursor: number;
  version: number;
}

export function emptyLogBook(): LogBook {
  return { lines: [], keys: new Set(), cursor: 0, version: 0 };
}

export function lineKey(entry: LogEntry): string {
  return `${entry.execution_id}|${entry.timestamp}|${entry.level}|${entry.template}`;
}

/** Add lines (in place); returns whether any was new. Keeps time order. */
export function addLines(book: LogBook, entries: Array<LogEntry | LogView>): boolean {
  let added = false;
  let outOfOrder = false;
  for (const entry of entries) {
    const key = lineKey(entry);
    if ("id" in entry && typeof entry.id === "number") book.cursor = Math.max(book.cursor, entry.id);
    if (book.keys.has(key)) continue;
    book.keys.add(key);
    const last = book.lines[book.lines.length - 1];
    if (last && last.timestamp > entry.timestamp) outOfOrder = true;
    book.lines.push({ ...entry, key });
    added = true;
  }
  if (outOfOrder) book.lines.sort((a, b) => a.timestamp - b.timestamp);
  if (added) book.version++;
  return added;
}

// --- searching and saving ---------------------------------------------------------

/** Levels ranked as the server ranks them (`coflux/log_lines.py`): the captured
 * stdout and stderr are a program's ordinary output, so they rank with info. */
export const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, stdout: 1, stderr: 1, warning: 2, error: 3 };

/** The lowest level kept; what the server's `level` accepts. */
export type MinimumLevel = "debug" | "info" | "warning" | "error";

export const MINIMUM_LEVELS: Array<{ value: MinimumLevel; label: string }> = [
  { value: "debug", label: "all levels" },
  { value: "info", label: "info and above" },
  { value: "warning", label: "warnings and errors" },
  { value: "error", label: "errors" },
];

/** Which lines a reader wants: those whose message holds `text` (ignoring case) at
 * `minimum` or above. The server applies the same filter to the whole run. */
export interface LogFilter {
  text: string;
  minimum: MinimumLevel;
}

export const NO_FILTER: LogFilter = { text: "", minimum: "debug" };

export function isFiltering(filter: LogFilter): boolean {
  return filter.text.trim() !== "" || filter.minimum !== "debug";
}

/** The message as Studio shows it: the template filled in, then any values it did
 * not name, as `name=value`. */
export function lineMessage(entry: LogEntry): string {
  const parts = renderTemplate(entry.template, entry.values);
  const used = new Set(parts.flatMap((part) => (typeof part === "string" ? [] : [part.name])));
  const text = parts.map((part) => (typeof part === "string" ? part : part.text)).join("");
  const extra = Object.entries(entry.values ?? {})
    .filter(([name]) => !used.has(name))
    .map(([name, value]) => ` ${name}=${toText(toDisplay(value))}`);
  return text + extra.join("");
}

export function keepsLine(filter: LogFilter, entry: LogEntry): boolean {
  if (LEVEL_RANK[entry.level] < LEVEL_RANK[filter.minimum]) return false;
  const text = filter.text.trim().toLowerCase();
  return text === "" || lineMessage(entry).toLowerCase().includes(text);
}

export function toLine(entry: LogEntry | LogView): LogLine {
  return { ...entry, key: lineKey(entry) };
}

/** Lines from several sources (the server's search, lines received live) once
 * each, in time order. */
export function mergeLines(...sources: LogLine[][]): LogLine[] {
  const seen = new Set<string>();
  const merged: LogLine[] = [];
  for (const source of sources) {
    for (const line of source) {
      if (seen.has(line.key)) continue;
      seen.add(line.key);
      merged.push(line);
    }
  }
  return merged.sort((a, b) => a.timestamp - b.timestamp);
}

/** The lines as a text file: a line each, tab-separated time (ISO 8601, UTC),
 * level, step and message; a message's own line breaks written as `\n`. */
export function logFileText(lines: LogEntry[], stepLabel: (executionId: string) => string): string {
  return lines
    .map((line) =>
      [new Date(line.timestamp * 1000).toISOString(), line.level, stepLabel(line.execution_id), lineMessage(line).replace(/\r?\n/g, "\\n")].join("\t"),
    )
    .map((row) => `${row}\n`)
    .join("");
}

/** "R1-logs.txt", "R1-logs-warning-timeout.txt": what was saved, in its name. */
export function logFileName(runId: string, filter: LogFilter): string {
  const words = [runId, "logs"];
  if (filter.minimum !== "debug") words.push(filter.minimum);
  const text = filter.text.trim().replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 40);
  if (text && text !== "_") words.push(text);
  return `${words.join("-")}.txt`;
}
