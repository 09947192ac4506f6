"""HTTP Range requests on ``/blobs/{key}``, on each store: one range is a 206 with
its ``Content-Range`` (verified when the blob is small enough to hash first, read as
stored past that), a range outside the blob a 416, anything else the whole blob."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from coflux.blobs.base import ByteRange
from coflux.server.api import blobs as blob_api
from coflux.server.api.blobs import requested_range
from coflux.server.app import create_app
from tests.blobs.conftest import Backend

CONTENT = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable


def key_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
async def api(backend: Backend, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(tmp_path / "server", session_timeout=5, admin_tokens=frozenset())
    app.state.context.blobs = backend.store
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def stored(api: httpx.AsyncClient, content: bytes = CONTENT) -> str:
    key = key_of(content)
    assert (await api.put(f"/blobs/{key}", content=content)).status_code in (200, 201)
    return key


@pytest.mark.parametrize("verify_first", [blob_api.VERIFY_FIRST, 0], ids=["verified", "as-read"])
@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-240", 10000, 10239),
        ("bytes=10200-99999", 10200, 10239),  # past the end: cut at the end
        ("bytes=-99999", 0, 10239),  # a suffix longer than the blob: all of it
        (" bytes=5-5 ", 5, 5),
    ],
)
async def test_one_range_is_a_206_with_that_part(
    api: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    verify_first: int,
    header: str,
    start: int,
    end: int,
) -> None:
    monkeypatch.setattr(blob_api, "VERIFY_FIRST", verify_first)
    key = await stored(api)
    got = await api.get(f"/blobs/{key}", headers={"Range": header})
    assert got.status_code == 206
    assert got.content == CONTENT[start : end + 1]
    assert got.headers["content-range"] == f"bytes {start}-{end}/{len(CONTENT)}"
    assert got.headers["content-length"] == str(end - start + 1)
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["etag"] == f'"{key}"'


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=20000-30000", "bytes=-0"])
async def test_a_range_outside_the_blob_is_a_416(api: httpx.AsyncClient, header: str) -> None:
    key = await stored(api)
    got = await api.get(f"/blobs/{key}", headers={"Range": header})
    assert got.status_code == 416
    assert got.headers["content-range"] == f"bytes */{len(CONTENT)}"
    assert got.json()["error"]["reason"] == "range_not_satisfiable"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Range": "bytes=0-1,5-6"},  # several ranges: not served, the whole instead
        {"Range": "items=0-1"},
        {"Range": "bytes=9-3"},  # invalid: ignored
        {"Range": "bytes=-"},
        {"Range": "bytes=0-9", "If-Range": '"' + "0" * 64 + '"'},  # other content
    ],
)
async def test_anything_else_gets_the_whole_blob(
    api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    key = await stored(api)
    got = await api.get(f"/blobs/{key}", headers=headers)
    assert got.status_code == 200
    assert got.content == CONTENT
    assert got.headers["accept-ranges"] == "bytes"
    assert "content-range" not in got.headers


async def test_if_range_naming_this_content_gets_the_part(api: httpx.AsyncClient) -> None:
    key = await stored(api)
    got = await api.get(f"/blobs/{key}", headers={"Range": "bytes=0-9", "If-Range": f'"{key}"'})
    assert (got.status_code, got.content) == (206, CONTENT[:10])


async def test_a_range_of_a_missing_or_corrupt_blob(
    api: httpx.AsyncClient, backend: Backend
) -> None:
    missing = await api.get(f"/blobs/{key_of(b'nothing')}", headers={"Range": "bytes=0-9"})
    assert missing.status_code == 404
    key = await stored(api)
    backend.corrupt(key)
    # Small enough to hash first: a corrupt blob is refused even for a part of it.
    got = await api.get(f"/blobs/{key}", headers={"Range": "bytes=0-9"})
    assert got.status_code == 500 and got.json()["error"]["reason"] == "blob_corrupt"
    assert [name.split(".")[0] for name in backend.put_aside()] == [key]


async def test_an_empty_blob_has_no_satisfiable_range(api: httpx.AsyncClient) -> None:
    key = await stored(api, b"")
    assert (await api.get(f"/blobs/{key}", headers={"Range": "bytes=0-"})).status_code == 416
    assert (await api.get(f"/blobs/{key}")).content == b""


async def test_an_asset_file_answers_ranges_too(api: httpx.AsyncClient) -> None:
    # The asset-file route goes through the same code (serve_blob); a missing asset
    # is still a 404 whatever the range.
    got = await api.get(
        "/api/projects/nope/assets/asset0001/files/a.txt", headers={"Range": "bytes=0-9"}
    )
    assert got.status_code == 404


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes=7-", ByteRange(7, None)),
        ("bytes=-3", ByteRange(suffix=3)),
        ("bytes=3-2", None),
        ("bytes=a-b", None),
        ("bytes=0-1, 3-4", None),
    ],
)
def test_parsing(header: str, expected: ByteRange | None) -> None:
    assert requested_range({"range": header}, "k") == expected


@pytest.mark.parametrize(
    ("requested", "size", "expected"),
    [
        (ByteRange(0, 9), 5, (0, 4)),
        (ByteRange(5), 5, None),
        (ByteRange(suffix=2), 5, (3, 4)),
        (ByteRange(suffix=9), 5, (0, 4)),
        (ByteRange(suffix=0), 5, None),
        (ByteRange(suffix=1), 0, None),
    ],
)
def test_resolving(requested: ByteRange, size: int, expected: tuple[int, int] | None) -> None:
    assert requested.resolve(size) == expected
