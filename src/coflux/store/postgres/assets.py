"""Reading assets from the PostgreSQL schema (they are written by ``writes.py``)."""

from __future__ import annotations

from typing import Any

import msgspec

from coflux import protocol
from coflux.store.postgres import queries
from coflux.store.postgres.views import Conn, row, rows
from coflux.views import AssetRestoreView, AssetSummary, RunAssets

_metadata = msgspec.json.Decoder(dict[str, Any])


def get_asset(conn: Conn, p: str, asset_id: str) -> protocol.AssetInfo | None:
    found = row(conn, queries.ASSET, {"p": p, "asset": asset_id})
    if found is None:
        return None
    entries = rows(conn, queries.ASSET_ENTRIES, {"p": p, "asset": asset_id})
    summary = _summary(found)
    return protocol.AssetInfo(
        id=summary.id,
        execution_id=summary.execution_id,
        kind=summary.kind,  # type: ignore[arg-type]  # written from an AssetKind
        path=summary.path,
        size=summary.size,
        file_count=summary.file_count,
        metadata=summary.metadata,
        entries=tuple(
            protocol.AssetEntry(path=path, size=size, blob=blob) for path, size, blob in entries
        ),
    )


def list_run_assets(conn: Conn, p: str, run_id: str) -> RunAssets:
    assets = rows(conn, queries.ASSETS_OF_RUN, {"p": p, "run": run_id})
    restores = rows(conn, queries.RESTORES_OF_RUN, {"p": p, "run": run_id})
    return RunAssets(
        assets=[_summary(r) for r in assets],
        restores=[AssetRestoreView(asset_id=a, execution_id=e, at=t) for a, e, t in restores],
    )


def _summary(r: tuple[Any, ...]) -> AssetSummary:
    asset_id, execution_id, kind, path, size, file_count, metadata, created_at = r
    return AssetSummary(
        id=asset_id,
        execution_id=execution_id,
        kind=kind,
        path=path,
        size=size,
        file_count=file_count,
        metadata=_metadata.decode(metadata),
        created_at=created_at,
    )
