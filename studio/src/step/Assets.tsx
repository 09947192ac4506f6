/**
 * Assets an execution persisted (or received): their files as a browsable tree
 * (studio/src/assets), a preview of the one chosen, and downloads. File contents come
 * from the blob store, fetched with the token and shown or saved through object URLs
 * (never a URL with the token in it); previews fetch only the part they show.
 */

import { useEffect, useState } from "preact/hooks";
import { downloadBlob } from "../api/download";
import { ApiError, api, blobUrl } from "../api/http";
import type { AssetEntry, AssetView } from "../api/types";
import { AssetTree } from "../assets/AssetTree";
import { Preview } from "../assets/Preview";
import "../assets/assets.css";
import { formatBytes } from "../model/format";

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
        <span class="tag">{assetKind(asset)}</span>
        <span class="mono">{assetName(asset)}</span>
        <span class="spacer" />
        <span class="faint">
          {asset.file_count} file{asset.file_count === 1 ? "" : "s"}, {formatBytes(asset.size)}
        </span>
      </div>
      <AssetTree
        label={`Files of asset ${id}`}
        entries={asset.entries}
        selected={open?.path ?? null}
        onSelect={(entry) => setOpen(open?.path === entry.path ? null : entry)}
        actions={(entry) => <DownloadLink entry={entry} />}
      />
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

/** 0.11's `cf.asset` makes collections; 0.4's `persist_asset` a file or a directory. */
function assetKind(asset: AssetView): string {
  return asset.metadata?.collection ? "asset" : asset.kind;
}

function assetName(asset: AssetView): string {
  const name = asset.metadata?.name;
  return typeof name === "string" ? name : asset.path || ".";
}
