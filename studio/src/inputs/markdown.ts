/**
 * A small Markdown parser for input prompts: paragraphs, headings, emphasis and
 * strong emphasis, code spans and fenced code, lists (nested by indentation), block
 * quotes, rules and links. It returns a tree, never HTML: the tree is rendered as
 * Preact elements (`Prompt.tsx`), so text is text, and raw HTML in a prompt (or in a
 * value spliced into it) is shown as written, never run or injected.
 *
 * Studio has no Markdown dependency and needs none: this covers what a prompt is
 * written with. Not covered (shown as the text it is): raw HTML, tables, images,
 * reference-style links, setext headings and indented code blocks (a prompt
 * written in an indented triple-quoted string is dedented first, as Python's
 * `textwrap.dedent` would, so its indentation is not read as code).
 *
 * Links keep only http, https and mailto addresses: anything else (`javascript:`,
 * `data:`) is shown as the link's text alone.
 */

export type Inline =
  | { kind: "text"; text: string }
  | { kind: "code"; text: string }
  | { kind: "em" | "strong"; children: Inline[] }
  | { kind: "link"; href: string; children: Inline[] }
  | { kind: "break" };

export type Block =
  | { kind: "paragraph"; children: Inline[] }
  | { kind: "heading"; level: number; children: Inline[] }
  | { kind: "code"; text: string; language: string | null }
  | { kind: "list"; ordered: boolean; start: number; items: Block[][] }
  | { kind: "quote"; children: Block[] }
  | { kind: "rule" };

/** Common leading whitespace removed from every line, and blank lines around trimmed. */
export function dedent(source: string): string {
  const lines = source.replace(/\r\n?/g, "\n").replace(/\t/g, "    ").split("\n");
  let indent = Infinity;
  for (const line of lines) if (line.trim() !== "") indent = Math.min(indent, line.length - line.trimStart().length);
  const cut = Number.isFinite(indent) ? indent : 0;
  const out = lines.map((line) => (line.trim() === "" ? "" : line.slice(cut)));
  while (out.length && out[0] === "") out.shift();
  while (out.length && out[out.length - 1] === "") out.pop();
  return out.join("\n");
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])([ \t]+(.*))?$/;

const blank = (line: string) => line.trim() === "";

/** Parse Markdown (already dedented) into blocks. */
export function parseMarkdown(source: string): Block[] {
  return parseBlocks(source.replace(/\r\n?/g, "\n").split("\n"));
}

function parseBlocks(lines: string[]): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? "";
    if (blank(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1] ?? "```";
      const body: string[] = [];
      i++;
      while (i < lines.length && !new RegExp(`^ {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`).test(lines[i] ?? "")) body.push(lines[i++] ?? "");
      i++; // the closing fence (or the end)
      blocks.push({ kind: "code", text: body.join("\n"), language: fence[2] || null });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ kind: "heading", level: (heading[1] ?? "#").length, children: parseInline(heading[2] ?? "") });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ kind: "rule" });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && !blank(lines[i] ?? "") && QUOTE.test(lines[i] ?? "")) body.push(QUOTE.exec(lines[i++] ?? "")?.[1] ?? "");
      blocks.push({ kind: "quote", children: parseBlocks(body) });
      continue;
    }
    const item = ITEM.exec(line);
    if (item) {
      const [list, next] = parseList(lines, i);
      blocks.push(list);
      i = next;
      continue;
    }
    const body: string[] = [];
    while (i < lines.length) {
      const current = lines[i] ?? "";
      if (blank(current) || FENCE.test(current) || HEADING.test(current) || QUOTE.test(current) || (body.length > 0 && (RULE.test(current) || ITEM.test(current)))) break;
      body.push(current);
      i++;
    }
    blocks.push({ kind: "paragraph", children: paragraphInlines(body) });
  }
  return blocks;
}

/** A list from line `start`: its items (each parsed as blocks) and the line after it. */
function parseList(lines: string[], start: number): [Block, number] {
  const first = ITEM.exec(lines[start] ?? "");
  const ordered = /\d/.test(first?.[2] ?? "");
  const items: Block[][] = [];
  let i = start;
  while (i < lines.length) {
    const item = ITEM.exec(lines[i] ?? "");
    if (!item || /\d/.test(item[2] ?? "") !== ordered) break;
    const width = (item[1] ?? "").length + (item[2] ?? "").length + 1;
    const body = [item[4] ?? ""];
    i++;
    // The item goes on over lines indented past its marker, and blank lines between them.
    while (i < lines.length) {
      const line = lines[i] ?? "";
      if (blank(line)) {
        const following = lines.slice(i + 1).find((l) => !blank(l));
        if (following === undefined || indentOf(following) < width) break;
        body.push("");
      } else if (indentOf(line) >= width) {
        body.push(line.slice(width));
      } else if (!ITEM.test(line) && !blank(body[body.length - 1] ?? "") && !FENCE.test(line) && !HEADING.test(line) && !QUOTE.test(line)) {
        body.push(line.trimStart()); // a lazy continuation of the item's paragraph
      } else break;
      i++;
    }
    items.push(parseBlocks(body));
    // A blank line between items keeps the list going.
    if (blank(lines[i] ?? "x") && ITEM.test(lines.slice(i).find((l) => !blank(l)) ?? "")) {
      while (blank(lines[i] ?? "x")) i++;
    }
  }
  const startNumber = ordered ? parseInt(first?.[2] ?? "1", 10) : 1;
  return [{ kind: "list", ordered, start: startNumber, items }, i];
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** A paragraph's lines: soft breaks are spaces; two trailing spaces or a backslash break the line. */
function paragraphInlines(lines: string[]): Inline[] {
  const out: Inline[] = [];
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    const hard = !last && (/ {2,}$/.test(line) || /\\$/.test(line));
    const content = last ? line.trim() : hard ? line.replace(/(\\| {2,})$/, "").trim() : line.trim();
    out.push(...parseInline(content));
    if (!last) out.push(hard ? { kind: "break" } : { kind: "text", text: " " });
  });
  return merge(out);
}

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;

/** Inline Markdown: escapes, code spans, links, autolinks, emphasis. */
export function parseInline(source: string): Inline[] {
  const out: Inline[] = [];
  let textStart = 0;
  let i = 0;
  const flush = (end: number) => {
    if (end > textStart) out.push({ kind: "text", text: source.slice(textStart, end) });
  };
  while (i < source.length) {
    const char = source[i] ?? "";
    if (char === "\\" && PUNCTUATION.test(source[i + 1] ?? "")) {
      flush(i);
      out.push({ kind: "text", text: source[i + 1] ?? "" });
      i += 2;
      textStart = i;
      continue;
    }
    if (char === "`") {
      const run = /^`+/.exec(source.slice(i))?.[0] ?? "`";
      const close = findRun(source, "`", run.length, i + run.length);
      if (close >= 0) {
        flush(i);
        let code = source.slice(i + run.length, close);
        if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
        out.push({ kind: "code", text: code });
        i = close + run.length;
        textStart = i;
        continue;
      }
      i += run.length;
      continue;
    }
    if (char === "[") {
      const link = parseLink(source, i);
      if (link) {
        flush(i);
        const children = parseInline(link.label);
        if (safeHref(link.href)) out.push({ kind: "link", href: link.href, children });
        else out.push(...children);
        i = link.end;
        textStart = i;
        continue;
      }
    }
    if (char === "<") {
      const auto = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(source.slice(i));
      if (auto?.[1]) {
        flush(i);
        out.push({ kind: "link", href: auto[1], children: [{ kind: "text", text: auto[1].replace(/^mailto:/i, "") }] });
        i += auto[0].length;
        textStart = i;
        continue;
      }
    }
    if (char === "*" || char === "_") {
      const emphasis = parseEmphasis(source, i);
      if (emphasis) {
        flush(i);
        out.push(emphasis.node);
        i = emphasis.end;
        textStart = i;
        continue;
      }
      i += /^(\*+|_+)/.exec(source.slice(i))?.[0].length ?? 1;
      continue;
    }
    i++;
  }
  flush(source.length);
  return merge(out);
}

/** Where the next run of exactly `length` `char`s starts at or after `from` (-1: none). */
function findRun(source: string, char: string, length: number, from: number): number {
  for (let i = from; i < source.length; ) {
    if (source[i] !== char) {
      i++;
      continue;
    }
    let end = i;
    while (source[end] === char) end++;
    if (end - i === length) return i;
    i = end;
  }
  return -1;
}

function parseLink(source: string, start: number): { label: string; href: string; end: number } | null {
  let depth = 0;
  let close = -1;
  for (let i = start; i < source.length; i++) {
    const char = source[i];
    if (char === "\\") i++;
    else if (char === "[") depth++;
    else if (char === "]" && --depth === 0) {
      close = i;
      break;
    }
  }
  if (close < 0 || source[close + 1] !== "(") return null;
  const target = /^\(\s*(<[^<>\n]*>|(?:[^\s()]|\([^\s()]*\))*)(?:\s+("[^"]*"|'[^']*'))?\s*\)/.exec(source.slice(close + 1));
  if (!target) return null;
  const href = (target[1] ?? "").replace(/^<(.*)>$/, "$1");
  return { label: source.slice(start + 1, close), href, end: close + 1 + target[0].length };
}

/** Whether a link may be followed: web and mail addresses only. */
export function safeHref(href: string): boolean {
  return /^(https?:\/\/|mailto:)/i.test(href.trim());
}

function parseEmphasis(source: string, start: number): { node: Inline; end: number } | null {
  const char = source[start] ?? "*";
  const run = (char === "*" ? /^\*+/ : /^_+/).exec(source.slice(start))?.[0].length ?? 1;
  const before = source[start - 1] ?? " ";
  // `_` inside a word (snake_case) is not emphasis; neither is a delimiter followed by a space.
  if (char === "_" && /[\p{L}\p{N}]/u.test(before)) return null;
  if (/\s/.test(source[start + Math.min(run, 2)] ?? " ")) return null;
  for (const size of run >= 2 ? [2, 1] : [1]) {
    const delimiter = char.repeat(size);
    for (let close = source.indexOf(delimiter, start + size + 1); close >= 0; close = source.indexOf(delimiter, close + 1)) {
      if (/\s/.test(source[close - 1] ?? " ")) continue;
      if (char === "_" && /[\p{L}\p{N}]/u.test(source[close + size] ?? " ")) continue;
      // `**` closing a single `*` is the single one's end plus a stray `*`; skip it.
      if (size === 1 && source[close + 1] === char) {
        close++;
        continue;
      }
      const inner = source.slice(start + size, close);
      if (inner === "") continue;
      return { node: { kind: size === 2 ? "strong" : "em", children: parseInline(inner) }, end: close + size };
    }
  }
  return null;
}

/** Neighbouring text nodes merged. */
function merge(nodes: Inline[]): Inline[] {
  const out: Inline[] = [];
  for (const node of nodes) {
    const prev = out[out.length - 1];
    if (node.kind === "text" && prev?.kind === "text") out[out.length - 1] = { kind: "text", text: prev.text + node.text };
    else out.push(node);
  }
  return out;
}
