"""``cf.asset`` (upstream Coflux 0.11's assets) in the SDK: what goes in, what is
uploaded (equal content once, composed entries never again), what a restore selects,
and every path that is refused on the way in or out."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import coflux as cf
from coflux import protocol
from coflux.sdk.assets import UnsafeAssetPath, matches
from tests.unit import test_assets as base
from tests.unit.test_assets import KEY, FakeBlobs, FakeServer, tree, write

inside = base.inside  # the fixtures, shared
server = base.server

Inside = Callable[[str, str], Path]
FILES = {"out/report.csv": "r", "data/a.csv": "a", "data/b.txt": "b", "data/sub/c.csv": "c"}


class CountingBlobs(FakeBlobs):
    """Fake blobs that count every upload of each content."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[str] = []

    def upload_file(self, path: str) -> tuple[str, int]:
        key, size = super().upload_file(path)
        self.uploads.append(key)
        return key, size


@pytest.fixture
def blobs() -> FakeBlobs:  # counting, for these tests
    return CountingBlobs()


def paths(asset: cf.Asset) -> list[str]:
    return [entry.path for entry in asset.entries]


def test_the_whole_working_directory_by_default(inside: Inside) -> None:
    write(inside("R:1:1", "producer"), FILES)
    asset = cf.asset(name="everything")
    assert paths(asset) == sorted(FILES)
    assert (asset.name, asset.file_count, asset.size) == ("everything", 4, 4)
    here = inside("R:2:1", "consumer")
    restored = asset.restore()
    assert restored == {path: here / path for path in FILES}
    assert tree(here) == FILES


def test_files_lists_directories_and_globs(inside: Inside, tmp_path: Path) -> None:
    workdir = inside("R:1:1", "producer")
    write(workdir, FILES)
    assert paths(cf.asset("out/report.csv")) == ["out/report.csv"]
    assert paths(cf.asset(Path("data/a.csv"))) == ["data/a.csv"]
    assert paths(cf.asset(workdir / "data/b.txt")) == ["data/b.txt"]  # absolute, inside
    assert paths(cf.asset(["data/a.csv", "data/b.txt"])) == ["data/a.csv", "data/b.txt"]
    assert paths(cf.asset("data")) == ["data/a.csv", "data/b.txt", "data/sub/c.csv"]
    # `*` matches across folders (fnmatch, as upstream), braces give alternatives.
    assert paths(cf.asset(match="*.csv")) == ["data/a.csv", "data/sub/c.csv", "out/report.csv"]
    assert paths(cf.asset(match="data/*.{txt,csv}")) == [
        "data/a.csv",
        "data/b.txt",
        "data/sub/c.csv",
    ]
    # `at` moves the base: paths are relative to it.
    assert paths(cf.asset(match="*.csv", at="data")) == ["a.csv", "sub/c.csv"]
    # A file outside the base keeps its name only; a directory outside, its own name.
    write(tmp_path / "shared", {"model/w.bin": "w", "notes.txt": "n"})
    assert paths(cf.asset(tmp_path / "shared" / "notes.txt")) == ["notes.txt"]
    assert paths(cf.asset(tmp_path / "shared" / "model")) == ["model/w.bin"]
    # A dict names each entry.
    named = cf.asset({"renamed.csv": "data/a.csv", "folder": "data/sub"})
    assert paths(named) == ["folder/c.csv", "renamed.csv"]


def test_a_missing_path_is_left_out_with_a_warning_as_upstream_leaves_it_out(
    inside: Inside, server: FakeServer
) -> None:
    write(inside("R:1:1", "producer"), FILES)
    asset = cf.asset(["data/a.csv", "missing.txt", "gone/"])
    assert paths(asset) == ["data/a.csv"]
    (warning,) = [m.entry for m in server.sent if isinstance(m, protocol.LogMessage)]
    assert warning.level == "warning" and "left out what does not exist" in warning.template
    assert warning.values["missing"].data == "missing.txt, gone/"
    named = cf.asset({"kept.csv": "data/a.csv", "lost.csv": "nowhere.csv"})
    assert paths(named) == ["kept.csv"]


def test_bad_requests_are_explained(inside: Inside) -> None:
    write(inside("R:1:1", "producer"), FILES)
    with pytest.raises(ValueError, match="no files found"):
        cf.asset("missing.txt")  # nothing at all is left
    with pytest.raises(ValueError, match="no files found"):
        cf.asset(match="*.png")
    with pytest.raises(ValueError, match="`at` cannot be given with a dict"):
        cf.asset({"a.csv": "data/a.csv"}, at="data")
    with pytest.raises(ValueError, match="given twice"):
        cf.asset(["data/a.csv", "data/a.csv"])
    with pytest.raises(ValueError, match="cannot make an asset from int"):
        cf.asset(42)  # type: ignore[arg-type]
    with pytest.raises(LookupError, match="cannot restore asset a1"):
        cf.Asset("a1").entries  # noqa: B018


def test_entries_and_partial_restores(inside: Inside, server: FakeServer) -> None:
    write(inside("R:1:1", "producer"), FILES)
    made = cf.asset()
    here = inside("R:2:1", "consumer")
    asset = cf.Asset(made.id)  # as a receiver gets it: the id only
    entry = asset["data/a.csv"]
    assert server.restores == [(made.id, "R:2:1")]  # reading entries is using the asset
    assert (entry.path, entry.size, entry.type) == ("data/a.csv", 1, "text/csv")
    assert entry.blob_key == made["data/a.csv"].blob_key
    assert entry.metadata == {"type": "text/csv"}
    assert "data/b.txt" in asset and "nope" not in asset
    with pytest.raises(KeyError):
        asset["nope"]
    assert entry.restore() == here / "data/a.csv"
    assert tree(here) == {"data/a.csv": "a"}
    assert asset.restore(match="data/sub/*", at="elsewhere") == {
        "data/sub/c.csv": here / "elsewhere/data/sub/c.csv"
    }
    assert sorted(asset.restore(match="*.{txt,csv}", at="all")) == sorted(FILES)
    assert tree(here / "all") == FILES
    assert asset.restore(match="*.png") == {}
    # 0.4's `to` means `at` for a collection.
    assert asset.restore(to="via-to") == {p: here / "via-to" / p for p in FILES}
    with pytest.raises(ValueError, match="not both"):
        asset.restore(to="a", at="b")  # type: ignore[call-overload]


def test_a_0_4_asset_restores_partially_too(inside: Inside) -> None:
    write(inside("R:1:1", "producer"), FILES)
    persisted = cf.persist_asset("data")
    here = inside("R:2:1", "consumer")
    # Plain restore keeps 0.4's shape (a Path); match/at give 0.11's dict.
    assert cf.Asset(persisted.id).restore() == here / "data"
    assert cf.Asset(persisted.id).restore(match="data/*.txt", at="x") == {
        "data/b.txt": here / "x/data/b.txt"
    }


def test_composing_uploads_nothing_again(inside: Inside, blobs: CountingBlobs) -> None:
    write(inside("R:1:1", "producer"), {**FILES, "copy/a.csv": "a", "big/1.bin": "same"})
    (Path.cwd() / "big/2.bin").write_text("same")
    first = cf.asset()
    # Equal contents (data/a.csv = copy/a.csv, big/1.bin = big/2.bin) went up once.
    assert sorted(blobs.uploads) == sorted(set(blobs.uploads))
    assert len(blobs.uploads) == 5
    inside("R:2:1", "composer")
    blobs.uploads.clear()
    with pytest.raises(ValueError, match="no files found"):
        cf.asset(match="*.csv")  # this working directory is empty
    (Path.cwd() / "local.txt").write_text("new")
    composed = cf.asset(
        {
            "all": cf.Asset(first.id),
            "one.csv": cf.Asset(first.id)["data/a.csv"],
            "local.txt": "local.txt",
        }
    )
    assert len(blobs.uploads) == 1  # only the new local file
    assert composed["one.csv"].blob_key == first["data/a.csv"].blob_key
    assert paths(composed)[:2] == ["all/big/1.bin", "all/big/2.bin"]
    # Filtering an existing asset re-references its entries.
    filtered = cf.asset(cf.Asset(first.id), match="data/*")
    assert len(blobs.uploads) == 1
    assert paths(filtered) == ["data/a.csv", "data/b.txt", "data/sub/c.csv"]


@pytest.mark.parametrize(
    "path",
    [
        "../escape",
        "a/../../b",
        "/etc/passwd",
        "\\windows",
        "C:\\x",
        "c:x",
        "C:/x",
        "..\\up",
        "a\\..\\..\\b",
        "\\\\server\\share\\x",
        "",
        "./a",
        "a//b",
        "nul\x00byte",
    ],
)
def test_names_that_escape_are_refused_before_any_upload(
    path: str, inside: Inside, blobs: CountingBlobs
) -> None:
    write(inside("R:1:1", "producer"), FILES)
    with pytest.raises(UnsafeAssetPath):
        cf.asset({path: "data/a.csv"})
    entry = cf.AssetEntry("ok.csv", KEY, 1, {})
    with pytest.raises(UnsafeAssetPath):
        cf.asset({path: entry})
    assert blobs.uploads == []


def test_restores_that_escape_write_nothing(
    inside: Inside, server: FakeServer, blobs: FakeBlobs, tmp_path: Path
) -> None:
    blobs.blobs[KEY] = b"x"
    good = protocol.AssetEntry(path="a.txt", size=1, blob=KEY)
    evil = protocol.AssetEntry(path="../../escape.txt", size=1, blob=KEY)
    server.assets["evil0001"] = protocol.AssetInfo(
        "evil0001", "R:1:1", "directory", ".", 2, 2, {"collection": True}, (good, evil)
    )
    here = inside("R:2:1", "consumer")
    asset = cf.Asset("evil0001")
    for attempt in (
        lambda: asset.restore(),
        lambda: asset.restore(match="*"),
        lambda: asset["../../escape.txt"].restore(),
        lambda: cf.AssetEntry("/etc/x", KEY, 1, {}).restore(at="safe"),
    ):
        with pytest.raises(UnsafeAssetPath, match="refusing to restore"):
            attempt()
    assert tree(here) == {}
    # Through a symlink leading outside, too.
    outside = tmp_path / "outside"
    outside.mkdir()
    (here / "link").symlink_to(outside)
    with pytest.raises(UnsafeAssetPath, match="through a symlink"):
        cf.AssetEntry("link/a.txt", KEY, 1, {}).restore()
    assert list(outside.iterdir()) == []
    assert os.listdir(here) == ["link"]


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("a.csv", "*.csv", True),
        ("deep/er/a.csv", "*.csv", True),
        ("deep/a.CSV", "*.csv", False),
        ("images/1.png", "images/*.{jpg,png}", True),
        ("images/1.gif", "images/*.{jpg,png}", False),
        ("x/y.md", "{x,z}/*.{md,txt}", True),
        ("a.csv", "b.csv", False),
    ],
)
def test_matching(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, pattern) is expected


def test_handles_travel_and_learn_their_entries(inside: Inside) -> None:
    write(inside("R:1:1", "producer"), {"x.txt": "x"})
    made = cf.asset(name="n")
    info: dict[str, Any] | None = made.info()
    assert info is not None and info["metadata"] == {"collection": True, "name": "n"}
    inside("R:2:1", "consumer")
    received = cf.Asset.from_info(made.id, info)
    assert received.name == "n"
    assert [e.path for e in received.entries] == ["x.txt"]


def test_a_working_directory_reached_through_a_symlink(inside: Inside, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    inside("R:1:1", "linked")
    write(Path.cwd(), {"sub/x.txt": "x"})
    # Path.cwd() is the real path: still inside the working directory.
    assert Path.cwd() == tmp_path / "real"
    assert paths(cf.asset(Path.cwd() / "sub" / "x.txt")) == ["sub/x.txt"]
