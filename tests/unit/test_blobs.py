"""The agent's blob client and shared cache, against a fake blob store over HTTP;
and the server's filesystem store with large, chunked uploads."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from coflux.agent.blobs import BlobCache, BlobClient, BlobError, BlobSettings
from coflux.blobs.filesystem import FilesystemBlobStore
from coflux.errors import BadRequest
from coflux.serialization import ValueCodec
from coflux.server.app import create_app


def key_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class FakeStore(http.server.ThreadingHTTPServer):
    """A blob store speaking the server's blob protocol, counting requests."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.blobs: dict[str, bytes] = {}
        self.requests: Counter[tuple[str, str]] = Counter()
        self.token = token
        self.corrupt = False
        self.delay = 0.0
        self.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeStore

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _key(self) -> str | None:
        self.server.requests[(self.command, self.path)] += 1
        if self.server.token and self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self._reply(401)
            return None
        return self.path.removeprefix("/blobs/")

    def _reply(self, status: int, body: bytes = b"", head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        key = self._key()
        if key is not None:
            self._reply(200 if key in self.server.blobs else 404, head=True)

    def do_GET(self) -> None:
        key = self._key()
        if key is None:
            return
        time.sleep(self.server.delay)
        content = self.server.blobs.get(key)
        if content is None:
            self._reply(404)
        else:
            self._reply(200, b"tampered" if self.server.corrupt else content)

    def do_PUT(self) -> None:
        key = self._key()
        if key is None:
            return
        content = self.rfile.read(int(self.headers["Content-Length"]))
        if key_of(content) != key:
            self._reply(400, b"mismatch")
            return
        created = key not in self.server.blobs
        self.server.blobs[key] = content
        self._reply(201 if created else 200)


@pytest.fixture
def store() -> Iterator[FakeStore]:
    server = FakeStore()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


_clients: list[BlobClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def client(store: FakeStore, cache_dir: Path, limit: int = 10**9) -> BlobClient:
    made = BlobClient(store.url, store.token, BlobCache(cache_dir, limit), retry_for=2.0)
    _clients.append(made)
    return made


def test_values_go_up_once_and_come_down_through_the_cache(
    store: FakeStore, tmp_path: Path
) -> None:
    writer = ValueCodec(client(store, tmp_path / "a"), threshold=100)
    value = {"data": os.urandom(5000), "n": 1}
    encoded = writer.dump(value)
    assert encoded.blob in store.blobs and encoded.size == len(store.blobs[encoded.blob])
    # Two executors of another agent share one cache: one download between them.
    cache = tmp_path / "b"
    first, second = client(store, cache), client(store, cache)
    assert ValueCodec(first).load(encoded) == value
    assert ValueCodec(second).load(encoded) == value
    assert store.requests[("GET", f"/blobs/{encoded.blob}")] == 1
    # The writer's own cache already holds what it wrote: no download at all.
    assert ValueCodec(client(store, tmp_path / "a")).load(encoded) == value
    assert store.requests[("GET", f"/blobs/{encoded.blob}")] == 1


def test_concurrent_readers_download_once(store: FakeStore, tmp_path: Path) -> None:
    content = os.urandom(100_000)
    store.blobs[key_of(content)] = content
    store.delay = 0.2  # so that every reader asks while the first download runs
    cache = tmp_path / "cache"
    results: list[bytes] = []

    def read() -> None:
        with client(store, cache).open(key_of(content)) as file:
            results.append(file.read())

    threads = [threading.Thread(target=read) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [content] * 5
    assert store.requests[("GET", f"/blobs/{key_of(content)}")] == 1


def test_large_uploads_ask_first_and_skip_what_is_there(store: FakeStore, tmp_path: Path) -> None:
    content = os.urandom(2 * 1024 * 1024)
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    blobs = client(store, tmp_path / "cache")
    assert blobs.upload_file(str(path)) == (key_of(content), len(content))
    assert blobs.upload_file(str(path)) == (key_of(content), len(content))
    key = key_of(content)
    assert store.requests[("PUT", f"/blobs/{key}")] == 1
    assert store.requests[("HEAD", f"/blobs/{key}")] == 2


def test_corrupted_downloads_are_refused_and_not_cached(store: FakeStore, tmp_path: Path) -> None:
    content = b"the real content"
    store.blobs[key_of(content)] = content
    store.corrupt = True
    blobs = client(store, tmp_path / "cache")
    with pytest.raises(BlobError, match="corrupted"):
        blobs.fetch(key_of(content))
    assert not [p for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")]
    store.corrupt = False
    assert blobs.fetch(key_of(content)).read_bytes() == content


def test_unknown_blobs_and_bad_keys_are_errors(store: FakeStore, tmp_path: Path) -> None:
    blobs = client(store, tmp_path / "cache")
    with pytest.raises(BlobError, match="not in the blob store"):
        blobs.fetch(key_of(b"never stored"))
    asked = sum(store.requests.values())
    for key in ("../../etc/passwd", "..%2F..%2Fetc", "0" * 63, "A" * 64, "0" * 64 + "/x"):
        with pytest.raises(BlobError, match="invalid blob key"):
            blobs.fetch(key)
        with pytest.raises(BlobError, match="invalid blob key"):
            blobs.download_to(key, str(tmp_path / "x"))
    assert sum(store.requests.values()) == asked  # nothing was even asked for a bad key
    assert not (tmp_path / "x").exists()


def test_the_token_is_sent(tmp_path: Path) -> None:
    server = FakeStore(token="s3cret")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        key, _ = client(server, tmp_path / "a").store(lambda f: f.write(b"hello"))
        assert server.blobs[key] == b"hello"
        with (
            BlobClient(server.url, None, BlobCache(tmp_path / "b"), retry_for=0) as anonymous,
            pytest.raises(BlobError, match="HTTP 401"),
        ):
            anonymous.fetch(key)
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_store_is_retried_then_reported(tmp_path: Path) -> None:
    server = FakeStore()
    url = server.url
    server.server_close()  # nothing listens there now
    started = time.monotonic()
    with (
        BlobClient(url, None, BlobCache(tmp_path / "cache"), retry_for=0.3) as blobs,
        pytest.raises(BlobError, match="cannot reach the blob store"),
    ):
        blobs.store(lambda f: f.write(b"x"))
    assert time.monotonic() - started >= 0.09  # it waited and tried again


def test_restores_replace_files_and_symlinks_without_following_them(
    store: FakeStore, tmp_path: Path
) -> None:
    content = b"asset file"
    store.blobs[key_of(content)] = content
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    target = tmp_path / "restore" / "file.txt"
    target.parent.mkdir()
    target.symlink_to(outside)
    client(store, tmp_path / "cache").download_to(key_of(content), str(target))
    assert not target.is_symlink() and target.read_bytes() == content
    assert outside.read_text() == "untouched"


# --- the shared cache -------------------------------------------------------------


def add(cache: BlobCache, content: bytes) -> Path:
    return cache.receive(lambda f: (f.write(content), key_of(content))[1])


def test_the_cache_evicts_least_recently_used_blobs(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, limit=3500)
    old, used, new = (add(cache, bytes([i]) * 1000) for i in range(3))
    past = time.time() - 100
    os.utime(old, (past, past))
    os.utime(used, (past, past))
    assert cache.find(used.name) == used  # reading touches it
    add(cache, b"\xff" * 1000)  # over the limit: the least recently used goes
    assert not old.exists()
    assert used.exists() and new.exists()


def test_a_blob_bigger_than_the_cache_is_kept_until_the_next_one(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, limit=100)
    big = add(cache, b"x" * 1000)
    assert big.exists()
    add(cache, b"y" * 1000)
    assert not big.exists()


def test_cache_entries_are_named_by_verified_keys(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    with pytest.raises(BlobError, match="invalid blob key"):
        cache.receive(lambda f: "../escape")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


def test_settings_keep_the_token_off_the_command_line(tmp_path: Path) -> None:
    settings = BlobSettings("http://h:1", "s3cret", tmp_path, 10, 20)
    assert "s3cret" not in " ".join(settings.executor_args())
    assert "s3cret" in settings.executor_env().values()


# --- the server's filesystem store --------------------------------------------------


async def chunks(content: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def test_the_filesystem_store_takes_large_chunked_uploads(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    content = os.urandom(3 * 1024 * 1024 + 5)
    key = key_of(content)
    assert await store.put(key, chunks(content, 65536), max_size=10**9) is True
    assert await store.put(key, chunks(content, 65536), max_size=10**9) is False
    blob = await store.open(key)
    assert blob is not None and blob.size == len(content)
    assert b"".join([chunk async for chunk in blob.chunks]) == content
    with pytest.raises(BadRequest, match="at most"):
        await store.put(key_of(content + b"!"), chunks(content + b"!", 65536), max_size=1000)
    with pytest.raises(BadRequest, match="sha256"):
        await store.put(key_of(b"other"), chunks(content, 65536), max_size=10**9)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [key]


async def test_the_server_answers_head_for_what_it_has(tmp_path: Path) -> None:
    # The client asks with HEAD before uploading a large blob.
    app = create_app(tmp_path, session_timeout=5, admin_tokens=frozenset())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            key = key_of(b"present")
            assert (await api.head(f"/blobs/{key}")).status_code == 404
            assert (await api.put(f"/blobs/{key}", content=b"present")).status_code == 201
            head = await api.head(f"/blobs/{key}")
            assert head.status_code == 200 and head.content == b""
            assert (await api.head("/blobs/..%2F..%2Fetc")).status_code in (400, 404)
