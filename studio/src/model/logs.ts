/**
 * A run's log lines, merged from two sources: pages fetched over HTTP (which carry
 * a cursor id) and live `logs` facts (which do not). A line seen through both is
 * kept once, recognised by its execution, time, level and text.
 */

import type { LogEntry, LogView } from "../api/types";

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
