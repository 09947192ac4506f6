"""Assets in the SDK: what gets persisted, where it is restored, and what is refused;
and the server's checks on an asset before it is recorded."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import coflux as cf
from coflux import protocol
from coflux.errors import BadRequest
from coflux.sdk import context
from coflux.sdk.assets import UnsafeAssetPath, path_problem, safe_destination
from coflux.serialization import ValueCodec
from coflux.server.api.assets import asset_of

KEY = "ab" * 32


class FakeBlobs:
    """Blob access backed by a dict (and a folder playing the server's store)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def store(self, write: Any) -> tuple[str, int]:
        raise NotImplementedError

    def open(self, key: str) -> Any:
        raise NotImplementedError

    def upload_file(self, path: str) -> tuple[str, int]:
        content = Path(path).read_bytes()
        key = hashlib.sha256(content).hexdigest()
        self.blobs[key] = content
        return key, len(content)

    def download_to(self, key: str, destination: str) -> None:
        Path(destination).write_bytes(self.blobs[key])

    async def exists(self, key: str) -> bool:  # the server's BlobStore, for asset_of
        return key in self.blobs


class FakeServer:
    """Answers asset requests like the server: checks, records, replies."""

    def __init__(self, blobs: FakeBlobs) -> None:
        self.blobs = blobs
        self.assets: dict[str, protocol.AssetInfo] = {}
        self.restores: list[tuple[str, str]] = []
        self.sent: list[Any] = []

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def request(self, make: Callable[[int], Any]) -> Any:
        message = make(len(self.sent) + 1)
        self.sent.append(message)
        reply: protocol.AssetReply
        if isinstance(message, protocol.PersistAsset):
            try:
                asset = asyncio.run(asset_of(message, self.blobs))  # type: ignore[arg-type]
            except BadRequest as e:
                error = protocol.ErrorInfo(type="BadRequest", message=str(e))
                reply = protocol.AssetReply(message.request_id, error=error)
            else:
                self.assets[asset.id] = asset
                reply = protocol.AssetReply(message.request_id, asset=asset)
        else:
            self.restores.append((message.asset_id, message.execution_id))
            found = self.assets.get(message.asset_id)
            error = None if found else protocol.ErrorInfo(type="NotFound", message="no asset")
            reply = protocol.AssetReply(message.request_id, asset=found, error=error)
        return _Answered(reply)


class _Answered:
    def __init__(self, reply: Any) -> None:
        self.reply = reply

    def wait(self, timeout: float | None) -> Any:
        return self.reply


@pytest.fixture
def blobs() -> FakeBlobs:
    return FakeBlobs()


@pytest.fixture
def server(blobs: FakeBlobs) -> FakeServer:
    return FakeServer(blobs)


@pytest.fixture
def inside(
    tmp_path: Path, server: FakeServer, blobs: FakeBlobs
) -> Iterator[Callable[[str, str], Path]]:
    """Run as execution ``ID`` with working directory ``tmp_path/NAME``; returns it."""
    tokens: list[Any] = []

    def enter(execution_id: str, name: str) -> Path:
        if tokens:
            context.reset(tokens.pop())
        workdir = tmp_path / name
        workdir.mkdir(exist_ok=True)
        ctx = context.ExecutionContext(
            execution_id, server, values=ValueCodec(blobs), working_dir=workdir
        )
        tokens.append(context.activate(ctx))
        os.chdir(workdir)
        return workdir

    cwd = os.getcwd()
    yield enter
    os.chdir(cwd)
    while tokens:
        context.reset(tokens.pop())


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


FILES = {"out/report.csv": "r", "data/a.csv": "a", "data/b.txt": "b", "data/sub/c.csv": "c"}


def test_a_file_is_restored_where_it_was(inside: Callable[[str, str], Path]) -> None:
    write(inside("R:1:1", "producer"), FILES)
    asset = cf.persist_asset("out/report.csv")
    assert (asset.kind, asset.path, asset.size, asset.file_count) == (
        "file",
        "out/report.csv",
        1,
        1,
    )
    assert asset.metadata == {"content_type": "text/csv"}
    here = inside("R:2:1", "consumer")
    assert asset.restore() == here / "out/report.csv"
    assert tree(here) == {"out/report.csv": "r"}
    # Given `to`, a file is restored as that file (as upstream Coflux does).
    assert cf.restore_asset(asset, to="inputs/latest.csv") == here / "inputs/latest.csv"
    assert tree(here) == {"out/report.csv": "r", "inputs/latest.csv": "r"}


def test_a_directory_is_filtered_by_its_glob(
    inside: Callable[[str, str], Path], server: FakeServer
) -> None:
    write(inside("R:1:1", "producer"), FILES)
    asset = cf.persist_asset("data", match="**/*.csv")
    assert (asset.kind, asset.path, asset.file_count) == ("directory", "data", 2)
    assert asset.metadata == {"match": "**/*.csv"}
    top_level = cf.persist_asset("data", match="*.csv")
    assert top_level.file_count == 1
    here = inside("R:2:1", "consumer")
    assert cf.restore_asset(asset) == here / "data"
    assert tree(here) == {"data/a.csv": "a", "data/sub/c.csv": "c"}
    assert server.restores == [(asset.id, "R:2:1")]


def test_the_whole_working_directory_and_restoring_elsewhere(
    inside: Callable[[str, str], Path],
) -> None:
    write(inside("R:1:1", "producer"), FILES)
    asset = cf.persist_asset()
    assert (asset.kind, asset.path, asset.file_count) == ("directory", ".", 4)
    here = inside("R:2:1", "consumer")
    assert asset.restore(to="elsewhere/deeper") == here / "elsewhere/deeper"
    assert tree(here / "elsewhere/deeper") == FILES


def test_a_path_outside_the_working_directory_is_based_on_its_parent(
    inside: Callable[[str, str], Path], tmp_path: Path
) -> None:
    write(tmp_path / "shared", {"model/weights.bin": "w"})
    inside("R:1:1", "producer")
    asset = cf.persist_asset(tmp_path / "shared" / "model")
    assert asset.path == "model"
    here = inside("R:2:1", "consumer")
    assert asset.restore() == here / "model"
    assert tree(here) == {"model/weights.bin": "w"}


def test_bad_persist_requests_are_explained(inside: Callable[[str, str], Path]) -> None:
    write(inside("R:1:1", "producer"), FILES)
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        cf.persist_asset("missing.txt")
    with pytest.raises(ValueError, match="it is a file"):
        cf.persist_asset("out/report.csv", match="*.csv")


def test_assets_need_an_execution() -> None:
    with pytest.raises(RuntimeError, match="only possible inside a Coflux execution"):
        cf.persist_asset()
    with pytest.raises(RuntimeError, match="only possible inside a Coflux execution"):
        cf.Asset("a1").restore()


def test_an_unknown_asset_cannot_be_restored(inside: Callable[[str, str], Path]) -> None:
    inside("R:1:1", "consumer")
    with pytest.raises(LookupError, match="cannot restore asset nope"):
        cf.Asset("nope").restore()


@pytest.mark.parametrize(
    "path",
    [
        "../escape", "a/../../escape", "a/..", "..", "/etc/passwd", "\\windows\\system32",
        "C:\\x", "c:x", "..\\escape", "a\\..\\..\\b", "", "a//b", "./a", "a/./b", "a/",
        "nul\x00byte",
    ],
)  # fmt: skip
def test_entries_that_escape_are_refused_everywhere(
    path: str, inside: Callable[[str, str], Path], server: FakeServer, blobs: FakeBlobs
) -> None:
    assert path_problem(path) is not None
    # The server refuses to record such an asset...
    blobs.blobs[KEY] = b"x"
    entry = protocol.AssetEntry(path=path, size=1, blob=KEY)
    request = protocol.PersistAsset(1, "R:1:1", "asset0001", "directory", ".", (entry,))
    with pytest.raises(BadRequest) as refused:
        asyncio.run(asset_of(request, blobs))  # type: ignore[arg-type]
    assert refused.value.reason == "unsafe_asset_path"
    # ...and a restore refuses it even if one came back, writing nothing at all.
    good = protocol.AssetEntry(path="a.txt", size=1, blob=KEY)
    server.assets["evil0001"] = protocol.AssetInfo(
        "evil0001", "R:1:1", "directory", ".", 2, 2, {}, (good, entry)
    )
    here = inside("R:2:1", "consumer")
    with pytest.raises(UnsafeAssetPath, match="refusing to restore"):
        cf.Asset("evil0001").restore()
    assert tree(here) == {}


def test_symlinks_leading_outside_are_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "linked").symlink_to(outside)
    (root / "inner").mkdir()
    (root / "alias").symlink_to(root / "inner")
    (root / "file.txt").symlink_to(outside / "target.txt")
    with pytest.raises(UnsafeAssetPath, match="through a symlink"):
        safe_destination(root, "linked/x.txt")
    with pytest.raises(UnsafeAssetPath, match="through a symlink"):
        safe_destination(root, "file.txt")
    # A symlink that stays inside is fine.
    assert safe_destination(root, "alias/x.txt") == (root / "inner" / "x.txt").resolve()
    assert safe_destination(root, "new/dir/x.txt") == (root / "new/dir/x.txt").resolve()


def test_restore_through_a_symlinked_directory_writes_nothing(
    inside: Callable[[str, str], Path], tmp_path: Path
) -> None:
    write(inside("R:1:1", "producer"), {"trap/payload.txt": "p"})
    asset = cf.persist_asset("trap")
    outside = tmp_path / "outside"
    outside.mkdir()
    here = inside("R:2:1", "consumer")
    (here / "trap").symlink_to(outside)
    with pytest.raises(UnsafeAssetPath):
        asset.restore()
    assert list(outside.iterdir()) == []


# --- the server's checks --------------------------------------------------------


def persist_request(**overrides: Any) -> protocol.PersistAsset:
    fields: dict[str, Any] = {
        "request_id": 1, "execution_id": "R:1:1", "asset_id": "asset0001", "kind": "directory",
        "path": "data", "entries": (protocol.AssetEntry("data/a.csv", 1, KEY),),
    }  # fmt: skip
    fields.update(overrides)
    return protocol.PersistAsset(**fields)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"asset_id": "../x"}, "invalid_asset_id"),
        ({"asset_id": "short"}, "invalid_asset_id"),
        ({"path": "/abs"}, "unsafe_asset_path"),
        ({"path": "../up"}, "unsafe_asset_path"),
        ({"entries": (protocol.AssetEntry("elsewhere/a.csv", 1, KEY),)}, "invalid_asset"),
        ({"entries": (protocol.AssetEntry("data/a", 1, KEY),) * 2}, "invalid_asset"),
        ({"entries": (protocol.AssetEntry("data/a", -1, KEY),)}, "invalid_asset"),
        ({"entries": (protocol.AssetEntry("data/a", 1, "../etc/passwd"),)}, "invalid_blob_key"),
        ({"entries": (protocol.AssetEntry("data/a", 1, "cd" * 32),)}, "unknown_blob"),
        ({"kind": "file"}, "invalid_asset"),
    ],
)
async def test_the_server_checks_assets_before_recording_them(
    overrides: dict[str, Any], reason: str, blobs: FakeBlobs
) -> None:
    blobs.blobs[KEY] = b"x"
    with pytest.raises(BadRequest) as refused:
        await asset_of(persist_request(**overrides), blobs)  # type: ignore[arg-type]
    assert refused.value.reason == reason


async def test_a_checked_asset_is_summed_up(blobs: FakeBlobs) -> None:
    blobs.blobs[KEY] = b"x"
    entries = (protocol.AssetEntry("data/b", 2, KEY), protocol.AssetEntry("data/a", 3, KEY))
    asset = await asset_of(persist_request(entries=entries), blobs)  # type: ignore[arg-type]
    assert (asset.size, asset.file_count) == (5, 2)
    assert [e.path for e in asset.entries] == ["data/a", "data/b"]
