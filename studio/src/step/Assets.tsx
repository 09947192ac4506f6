/**
 * Assets an execution persisted (or received): their files, a preview of text and
 * images, and downloads. File contents come from the blob store, fetched with the
 * token and shown or saved through object URLs (never a URL with the token in it).
 */

import { useEffect, useState } from "preact/hooks";
import { downloadBlob } from "../api/download";
import { ApiError, api, blobUrl, fetchBlob } from "../api/http";
import type { AssetEntry, AssetView } from "../api/types";
import { formatBytes } from "../model/format";

const PREVIEW_BYTES = 64 * 1024;
const IMAGE = /\.(png|jpe?g|gif|webp|svg|bmp|avif)$/i;
const IMAGE_TYPES: Record<string, string> = { svg: "image/svg+xml", jpg: "image/jpeg", jpeg: "image/jpeg" };

export function Assets({ project, ids }: { project: string; ids: string[] }) {
  return (
    <div class="assets">
      {ids.map((id) => (
        <AssetCard key={id} project={project} id={id} />
      ))}
    </div>
  );
}

function AssetCard({ project, id }: { project: string; id: string }) {
  const [asset, setAsset] = useState<AssetView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<AssetEntry | null>(null);
  useEffect(() => {
    let current = true;
    api.getAsset(project, id).then(
      (a) => current && setAsset(a),
      (e: Error) => {
        if (!current) return;
        setError(e instanceof ApiError && e.endpointMissing ? "Assets are not available on this server." : e.message);
      },
    );
    return () => {
      current = false;
    };
  }, [project, id]);
  if (error) {
    return (
      <div class="asset notice warning" role="status">
        <span class="mono">{id}</span>: {error}
      </div>
    );
  }
  if (!asset) return <div class="asset faint">Loading asset {id}…</div>;
  return (
    <div class="asset card">
      <div class="row">
        <span class="tag">{asset.kind}</span>
        <span class="mono">{asset.path || "."}</span>
        <span class="spacer" />
        <span class="faint">
          {asset.file_count} file{asset.file_count === 1 ? "" : "s"}, {formatBytes(asset.size)}
        </span>
      </div>
      <ul class="asset-files" aria-label={`Files of asset ${id}`}>
        {asset.entries.slice(0, 500).map((entry) => (
          <li key={entry.path} class="row">
            <button type="button" class="link-button mono" onClick={() => setOpen(open?.path === entry.path ? null : entry)} aria-expanded={open?.path === entry.path}>
              {entry.path}
            </button>
            <span class="spacer" />
            <span class="faint">{formatBytes(entry.size)}</span>
            <DownloadLink entry={entry} />
          </li>
        ))}
        {asset.entries.length > 500 && <li class="faint">+ {asset.entries.length - 500} more files</li>}
      </ul>
      {open && <Preview entry={open} />}
    </div>
  );
}

/** A download link: the click fetches the file with the token and saves it (the href,
 * without the token, is only there for the link's role and a tokenless server). */
function DownloadLink({ entry }: { entry: AssetEntry }) {
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  const name = entry.path.split("/").pop() ?? entry.path;
  const click = (event: MouseEvent) => {
    event.preventDefault();
    if (state.busy) return;
    setState({ busy: true, error: null });
    downloadBlob(entry.blob, name).then(
      () => setState({ busy: false, error: null }),
      (e: Error) => setState({ busy: false, error: `Could not download: ${e.message}` }),
    );
  };
  return (
    <>
      <a class="small-link" href={blobUrl(entry.blob)} download={name} aria-label={`Download ${entry.path}`} onClick={click}>
        {state.busy ? "downloading…" : "download"}
      </a>
      {state.error && (
        <span class="field-error" role="alert">
          {state.error}
        </span>
      )}
    </>
  );
}

function Preview({ entry }: { entry: AssetEntry }) {
  const [content, setContent] = useState<{ text?: string; image?: string; note?: string } | null>(null);
  useEffect(() => {
    let current = true;
    let url: string | null = null;
    (async () => {
      const response = await fetchBlob(entry.blob);
      const data = await response.arrayBuffer();
      if (!current) return;
      if (IMAGE.test(entry.path)) {
        const ext = (entry.path.split(".").pop() ?? "").toLowerCase();
        url = URL.createObjectURL(new Blob([data], { type: IMAGE_TYPES[ext] ?? `image/${ext}` }));
        setContent({ image: url });
        return;
      }
      const bytes = new Uint8Array(data.slice(0, PREVIEW_BYTES));
      try {
        const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        setContent({ text: text + (data.byteLength > PREVIEW_BYTES ? "\n…" : "") });
      } catch {
        setContent({ note: "Binary file: no preview. Use download." });
      }
    })().catch((e: Error) => current && setContent({ note: `Could not load the file: ${e.message}` }));
    return () => {
      current = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [entry.blob, entry.path]);
  if (!content) return <div class="faint">Loading preview…</div>;
  if (content.image) return <img class="asset-image" src={content.image} alt={entry.path} />;
  if (content.text !== undefined) return <pre class="asset-text">{content.text}</pre>;
  return <p class="faint">{content.note}</p>;
}
