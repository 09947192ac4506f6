/**
 * What preview a file gets, how much of it is fetched for one, and reading that part:
 * text and CSV show their first kilobytes (an HTTP Range request, so a large file
 * is never downloaded for a glance), images are fetched whole up to a limit, and
 * anything else is only downloadable.
 */

import type { AssetEntry } from "../api/types";

export type PreviewKind = "image" | "csv" | "text" | "none";

/** How much of a text or CSV file a preview fetches. */
export const TEXT_PREVIEW_BYTES = 64 * 1024;
/** Images are fetched whole (a part of one cannot be drawn): up to this size. */
export const IMAGE_PREVIEW_BYTES = 8 * 1024 * 1024;
/** The rows a CSV preview shows (after the header). */
export const CSV_PREVIEW_ROWS = 50;

const IMAGE = /\.(png|jpe?g|gif|webp|svg|bmp|avif|ico)$/i;
const CSV = /\.(csv|tsv)$/i;
const TEXT =
  /\.(txt|md|markdown|rst|log|json|jsonl|ndjson|ya?ml|toml|ini|cfg|conf|xml|html?|css|js|ts|tsx|py|sh|sql|r|ipynb|env|gitignore)$/i;
const TEXT_TYPE = /^(text\/|application\/(json|xml|x-yaml|yaml|toml|x-sh|javascript))/;

/** The preview `entry` gets: by its extension, else by the media type recorded. */
export function previewKind(entry: Pick<AssetEntry, "path" | "size"> & { type?: string | null }): PreviewKind {
  const name = entry.path.split("/").pop() ?? entry.path;
  if (IMAGE.test(name)) return entry.size <= IMAGE_PREVIEW_BYTES ? "image" : "none";
  if (CSV.test(name)) return "csv";
  if (TEXT.test(name)) return "text";
  if (entry.type && TEXT_TYPE.test(entry.type)) return "text";
  if (!name.includes(".")) return "text"; // README, LICENSE, Makefile...: tried as text
  return "none";
}

/** The media type an image is shown with (its object URL's type). */
export function imageType(path: string): string {
  const extension = (path.split(".").pop() ?? "").toLowerCase();
  const types: Record<string, string> = { svg: "image/svg+xml", jpg: "image/jpeg", ico: "image/x-icon" };
  return types[extension] ?? `image/${extension}`;
}

/** The start of a file decoded as UTF-8, or null if it is not text. A sequence cut by
 * the end of the part is dropped, not taken for a sign of binary content. */
export function decodeStart(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: true });
  } catch {
    return null;
  }
}

/** The header and the first `maxRows` rows of CSV text (quotes, doubled quotes, quoted line
 * breaks understood); when `truncated`, the last line, perhaps cut, is left out. */
export function parseCsv(text: string, maxRows: number, truncated: boolean, delimiter = ","): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let complete = 0; // how many rows ended with a line break (or the text's end)
  for (let i = 0; i < text.length && rows.length < maxRows + 1; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      complete = rows.length;
      row = [];
      field = "";
    } else field += c;
  }
  if ((field || row.length) && rows.length < maxRows + 1 && !truncated) {
    row.push(field);
    rows.push(row);
    complete = rows.length;
  }
  return rows.slice(0, Math.min(complete, maxRows + 1));
}
