"""The blob stores under test, each with direct access to where it keeps blobs
(to damage one, to see what is stored or left over), for the contract suite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from coflux.blobs.base import BlobStore
from coflux.blobs.filesystem import FilesystemBlobStore
from coflux.blobs.s3 import S3BlobStore
from tests.support.s3 import Bucket, s3_bucket, s3_service  # noqa: F401 (fixtures)


@dataclass
class Backend:
    """A store and what a test may do behind its back.

    Attributes:
        make: a store of this kind at ``place`` (a prefix or a directory name).
        corrupt: flip one byte of a stored blob (the same size).
        stored: the keys of the blobs in the store's own place.
        put_aside: what was put aside as corrupt.
        leftovers: partial uploads (temporary files, unfinished multipart uploads).
    """

    name: str
    make: Callable[[str], BlobStore]
    corrupt: Callable[[str], None]
    stored: Callable[[], list[str]]
    put_aside: Callable[[], list[str]]
    leftovers: Callable[[], list[str]]

    @property
    def store(self) -> BlobStore:
        return self.make(PLACE)


PLACE = "blobs"


def flip(content: bytes) -> bytes:
    damaged = bytearray(content)
    damaged[len(damaged) // 2] ^= 0xFF
    return bytes(damaged)


def filesystem(root: Path) -> Backend:
    place = root / PLACE

    def corrupt(key: str) -> None:
        path = place / key[:2] / key
        path.write_bytes(flip(path.read_bytes()))

    def files() -> list[Path]:
        return sorted(p for p in place.rglob("*") if p.is_file()) if place.exists() else []

    return Backend(
        "filesystem",
        make=lambda name: FilesystemBlobStore(root / name),
        corrupt=corrupt,
        stored=lambda: [p.name for p in files() if p.parent.name == p.name[:2]],
        put_aside=lambda: [p.name for p in files() if p.parent.name == "corrupt"],
        leftovers=lambda: [p.name for p in files() if p.name.startswith(".incoming-")],
    )


def s3(bucket: Bucket) -> Backend:
    def corrupt(key: str) -> None:
        name = f"{PLACE}/{key[:2]}/{key}"
        bucket.write(name, flip(bucket.read(name)))

    def names() -> list[str]:
        return bucket.names(PLACE + "/")

    return Backend(
        "s3",
        make=lambda name: S3BlobStore(bucket.url(name)),
        corrupt=corrupt,
        stored=lambda: [n.split("/")[-1] for n in names() if n.split("/")[1] != "corrupt"],
        put_aside=lambda: [n.split("/")[-1] for n in names() if n.split("/")[1] == "corrupt"],
        leftovers=bucket.multipart_uploads,
    )


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "filesystem":
        return filesystem(tmp_path)
    return s3(request.getfixturevalue("s3_bucket"))
