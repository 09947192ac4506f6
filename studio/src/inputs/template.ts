/**
 * An input prompt's template with its placeholders filled in, ready to render as
 * Markdown (`markdown.ts`). Three forms, as `cf.Prompt` documents them:
 *
 *   {key}       the value inline, as a log line shows it (a string as itself)
 *   {{key}}     the value as a block of its own (a long text, a nested value)
 *   {{{key}}}   the string itself read as Markdown (other values: inline)
 *
 * A name the prompt has no value for stays as written. Inline and block values
 * become slots: a private-use marker in the Markdown source that the renderer swaps
 * for the value, so a value's text is never read as Markdown (or as HTML) and
 * placeholders inside a `{{{key}}}` string are not filled in again.
 */

import type { Value } from "../api/types";
import { toDisplay, toText } from "../model/values";
import { dedent } from "./markdown";

export interface Slot {
  name: string;
  value: Value;
  block: boolean;
}

export interface FilledTemplate {
  /** Markdown with `slotMarker(i)` where slot `i` goes. */
  source: string;
  slots: Slot[];
}

const OPEN = "\uE000";
const CLOSE = "\uE001";
const MARKERS = /[\uE000\uE001]/g;

/** Where slot `index` sits in the source. */
export function slotMarker(index: number): string {
  return `${OPEN}${index}${CLOSE}`;
}

/** Text split at slot markers: strings, and the indexes of the slots between them. */
export function splitSlots(text: string): Array<string | number> {
  const parts: Array<string | number> = [];
  const pattern = /\uE000(\d+)\uE001/g;
  let last = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(Number(match[1]));
    last = pattern.lastIndex;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

const PLACEHOLDER = /\{\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}\}|\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The template (dedented) with its placeholders filled from `values`. */
export function fillTemplate(template: string, values: Record<string, Value> | null | undefined): FilledTemplate {
  const source = dedent(template.replace(MARKERS, ""));
  const slots: Slot[] = [];
  const filled = source.replace(PLACEHOLDER, (whole, markdown?: string, block?: string, inline?: string) => {
    const name = markdown ?? block ?? inline ?? "";
    const value = values?.[name];
    if (!value) return whole;
    if (markdown !== undefined) {
      const text = markdownText(value);
      if (text !== null) return text.replace(MARKERS, "");
    }
    slots.push({ name, value, block: block !== undefined });
    return slotMarker(slots.length - 1);
  });
  return { source: filled, slots };
}

/** A value's string, when it is one held inline (not a stored blob or a pickle). */
function markdownText(value: Value): string | null {
  if (value.format !== "json" || value.blob) return null;
  const data = value.data;
  return typeof data === "string" ? data : null;
}

/** One line to name a prompt by in a list: its first line of text, values inline,
 * Markdown marks dropped. */
export function summarise(template: string, values: Record<string, Value> | null | undefined, limit = 140): string {
  const { source, slots } = fillTemplate(template, values);
  const line = source.split("\n").find((l) => l.trim() !== "" && !/^\s*(```|~~~)/.test(l)) ?? "";
  const text = splitSlots(line)
    .map((part) => (typeof part === "string" ? part.replace(/^\s*(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)/, "").replace(/[*_`]/g, "") : inlineText(slots[part]?.value)))
    .join("")
    .trim();
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** A value's text as a log line shows it: a string as itself. */
export function inlineText(value: Value | undefined): string {
  if (!value) return "";
  const display = toDisplay(value);
  return display.kind === "string" ? display.value : toText(display);
}
