"""Assets in the SQLite store: writing ``AssetRecorded``/``AssetRestored``, reading them.

Writes run inside the caller's transaction (``writes.write_facts``); reads
inside the caller's read transaction (``store.SqliteProjectStore``). Asset ids
are chosen by executors, so recording the same asset twice (a resent request)
is a no-op rather than an error that would fail the whole batch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from coflux import protocol
from coflux.orchestration.effects import AssetRecorded, AssetRestored
from coflux.store import codecs
from coflux.views import AssetRestoreView, AssetSummary, RunAssets

_ASSET_COLUMNS = "id, execution_id, kind, path, size, file_count, metadata, created_at"
_metadata = msgspec.json.Decoder(dict[str, Any])


def write_assets(conn: sqlite3.Connection, facts: Sequence[AssetRecorded]) -> None:
    conn.executemany(
        f"INSERT INTO assets ({_ASSET_COLUMNS}, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        [
            (
                f.asset.id,
                f.asset.execution_id,
                f.asset.kind,
                f.asset.path,
                f.asset.size,
                f.asset.file_count,
                codecs.encode(f.asset.metadata),
                f.at,
                f.run_id,
            )
            for f in facts
        ],
    )
    conn.executemany(
        "INSERT INTO asset_entries (asset_id, path, size, blob) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (asset_id, path) DO NOTHING",
        [(f.asset.id, e.path, e.size, e.blob) for f in facts for e in f.asset.entries],
    )


def write_restores(conn: sqlite3.Connection, facts: Sequence[AssetRestored]) -> None:
    conn.executemany(
        "INSERT INTO asset_restores (asset_id, execution_id, run_id, at) VALUES (?, ?, ?, ?)",
        [(f.asset_id, f.execution_id, f.run_id, f.at) for f in facts],
    )


def get_asset(conn: sqlite3.Connection, asset_id: str) -> protocol.AssetInfo | None:
    row = conn.execute(f"SELECT {_ASSET_COLUMNS} FROM assets WHERE id = ?", (asset_id,)).fetchone()
    if row is None:
        return None
    entries = conn.execute(
        "SELECT path, size, blob FROM asset_entries WHERE asset_id = ? ORDER BY path",
        (asset_id,),
    ).fetchall()
    summary = _summary(row)
    return protocol.AssetInfo(
        id=summary.id,
        execution_id=summary.execution_id,
        kind=summary.kind,  # type: ignore[arg-type]  # written from an AssetKind
        path=summary.path,
        size=summary.size,
        file_count=summary.file_count,
        metadata=summary.metadata,
        entries=tuple(protocol.AssetEntry(path=p, size=n, blob=b) for p, n, b in entries),
    )


def list_run_assets(conn: sqlite3.Connection, run_id: str) -> RunAssets:
    assets = conn.execute(
        f"SELECT {_ASSET_COLUMNS} FROM assets WHERE run_id = ? ORDER BY created_at, id",
        (run_id,),
    ).fetchall()
    restores = conn.execute(
        "SELECT asset_id, execution_id, at FROM asset_restores WHERE run_id = ? ORDER BY id",
        (run_id,),
    ).fetchall()
    return RunAssets(
        assets=[_summary(row) for row in assets],
        restores=[AssetRestoreView(asset_id=a, execution_id=e, at=t) for a, e, t in restores],
    )


def _summary(row: Any) -> AssetSummary:
    asset_id, execution_id, kind, path, size, file_count, metadata, created_at = row
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
