/**
 * The preview of one asset file: an image (fetched whole, up to a limit), the first
 * kilobytes of a text file, or the first rows of a CSV file as a table. Text and CSV
 * are read with a Range request (`fetchBlobStart`), so only what is shown is fetched.
 */

import { useEffect, useState } from "preact/hooks";
import { fetchBlobStart } from "../api/download";
import { fetchBlob } from "../api/http";
import type { AssetEntry } from "../api/types";
import { formatBytes } from "../model/format";
import { CSV_PREVIEW_ROWS, TEXT_PREVIEW_BYTES, decodeStart, imageType, parseCsv, previewKind } from "./preview";

type Shown =
  | { kind: "loading" }
  | { kind: "image"; url: string }
  | { kind: "text"; text: string; truncated: boolean }
  | { kind: "csv"; rows: string[][]; truncated: boolean }
  | { kind: "note"; note: string };

export function Preview({ entry }: { entry: AssetEntry }) {
  const [shown, setShown] = useState<Shown>({ kind: "loading" });
  useEffect(() => {
    const abort = new AbortController();
    let url: string | null = null;
    setShown({ kind: "loading" });
    load(entry, abort.signal).then(
      (result) => {
        if (abort.signal.aborted) return;
        if (result.kind === "image") url = result.url;
        setShown(result);
      },
      (e: Error) => !abort.signal.aborted && setShown({ kind: "note", note: `Could not load the file: ${e.message}` }),
    );
    return () => {
      abort.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [entry.blob, entry.path]);
  return (
    <div class="asset-preview" aria-label={`Preview of ${entry.path}`}>
      <div class="faint mono">{entry.path}</div>
      <Body shown={shown} entry={entry} />
    </div>
  );
}

function Body({ shown, entry }: { shown: Shown; entry: AssetEntry }) {
  switch (shown.kind) {
    case "loading":
      return <div class="faint">Loading preview…</div>;
    case "image":
      return <img class="asset-image" src={shown.url} alt={entry.path} />;
    case "text":
      return (
        <>
          <pre class="asset-text">{shown.text}</pre>
          {shown.truncated && <p class="faint">First {formatBytes(TEXT_PREVIEW_BYTES)} of {formatBytes(entry.size)}: download for the rest.</p>}
        </>
      );
    case "csv":
      return <CsvTable rows={shown.rows} truncated={shown.truncated} />;
    case "note":
      return <p class="faint">{shown.note}</p>;
  }
}

function CsvTable({ rows, truncated }: { rows: string[][]; truncated: boolean }) {
  const [header, ...body] = rows;
  if (!header) return <p class="faint">Empty file.</p>;
  return (
    <div class="asset-csv">
      <table class="asset-table" aria-label="CSV preview">
        <thead>
          <tr>
            {header.map((cell, i) => (
              <th key={i}>{cell}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {body.map((row, r) => (
            <tr key={r}>
              {row.map((cell, i) => (
                <td key={i}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {(truncated || body.length >= CSV_PREVIEW_ROWS) && <p class="faint">The first {body.length} rows: download for the rest.</p>}
    </div>
  );
}

async function load(entry: AssetEntry, signal: AbortSignal): Promise<Shown> {
  const kind = previewKind(entry);
  if (kind === "none") return { kind: "note", note: "No preview for this kind of file: use download." };
  if (kind === "image") {
    const response = await fetchBlob(entry.blob, signal);
    const data = await response.arrayBuffer();
    return { kind: "image", url: URL.createObjectURL(new Blob([data], { type: imageType(entry.path) })) };
  }
  const { bytes, truncated } = await fetchBlobStart(entry.blob, TEXT_PREVIEW_BYTES, signal);
  const text = decodeStart(bytes);
  if (text === null) return { kind: "note", note: "Binary file: no preview. Use download." };
  if (kind === "csv") {
    const delimiter = entry.path.toLowerCase().endsWith(".tsv") ? "\t" : ",";
    return { kind: "csv", rows: parseCsv(text, CSV_PREVIEW_ROWS, truncated, delimiter), truncated };
  }
  return { kind: "text", text, truncated };
}
