"""The S3 blob store: blobs as objects in an S3-compatible bucket (AWS, MinIO,
Ceph, R2, ...), through obstore.

``S3BlobStore("s3://bucket/prefix")`` keeps a blob at
``<prefix>/<first two hex digits>/<key>``, and corrupt ones put aside under
``<prefix>/corrupt/``. Keys are checked (``check_key``) before any object name
is made of them, so nothing outside ``<prefix>/`` can be named. Credentials,
region and endpoint come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``,
``AWS_ENDPOINT_URL``, ...), else from the shared files (``~/.aws/credentials``,
``~/.aws/config``, ``AWS_PROFILE``), else from what obstore finds itself (web
identity, ECS, EC2 instance metadata).

Uploads never show unverified content under a key. The content is hashed as it
streams in. A blob that fits in one part (``PART``) is gathered in memory,
checked, then written with one conditional PUT (``If-None-Match: *``), so two
writers of it cannot clash. A larger one is a multipart upload of ``PART``-sized
parts, a few in flight at once: the stream that feeds it raises instead of
ending if the hash does not match (or the blob grows too large), which aborts
the upload, so only a matching one is ever completed. (A multipart upload is
not conditional: two writers of the same blob at once both complete it, with
the same verified bytes.) Memory stays bounded by ``PART`` times the parts in
flight, whatever the blob's size.

Reads stream 1 MiB at a time, verified as the filesystem store's are: hashed
in full first (kept meanwhile in a temporary file, on disk past 1 MiB) or as
they stream, the last chunk held back. A corrupt object is logged, copied to
``<prefix>/corrupt/<key>.<time>`` and deleted (if it is still the object that
was read), so the next upload of the right content stores it again.

A part of a blob (``open_range``) is one ranged GET (``Range: bytes=a-b``) after
a HEAD that gives the size; a blob small enough to verify first is read and
verified whole, as ``open`` does, and the part cut from it.

Errors of the object store (unreachable, refused credentials) are
``Unavailable``: a 503 at the HTTP edge, retried by the agent's client.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError
from obstore.store import S3Store

from coflux.blobs.base import (
    CHUNK,
    ByteRange,
    RangeNotSatisfiable,
    StoredBlob,
    StoredRange,
    check_key,
    drain,
    span,
    verified,
)
from coflux.errors import BadRequest, Unavailable

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Config

logger = logging.getLogger(__name__)

PART = 5 * 1024 * 1024
"""Multipart part size (S3 needs at least 5 MiB); also the largest single PUT."""
PARTS_IN_FLIGHT = 3
_SPOOL_IN_MEMORY = CHUNK  # a blob verified before it is served is kept here past this
CORRUPT = "corrupt"

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


class S3BlobStore:
    """Blobs in ``s3://bucket/prefix`` (see the module docstring).

    Args:
        url: ``s3://bucket`` or ``s3://bucket/prefix/...``.
        retries: how often a failed request is tried again (with backoff, for at
            most a minute) before the store is reported unavailable.

    Raises:
        ValueError: ``url`` is not such a URL.
    """

    def __init__(self, url: str, *, retries: int = 5) -> None:
        self.bucket, self.prefix = parse_url(url)
        config, endpoint = _settings(os.environ)  # obstore reads the variables itself
        client: ClientConfig = {
            # The whole of a large blob streams through one request, at the pace
            # of whoever reads it: no overall limit, but a stalled one ends.
            "timeout": timedelta(hours=12),
            "read_timeout": timedelta(minutes=2),
            "connect_timeout": timedelta(seconds=10),
            # Only when the endpoint named is plain HTTP (a local MinIO, a test).
            "allow_http": endpoint is not None and endpoint.startswith("http://"),
        }
        self._store = S3Store(
            self.bucket,
            prefix=self.prefix or None,
            config=config,
            client_options=client,
            retry_config={"max_retries": retries, "retry_timeout": timedelta(seconds=60)},
        )

    def __repr__(self) -> str:
        return f"S3BlobStore({self._url('')!r})"

    def _url(self, name: str) -> str:
        return "s3://" + "/".join(part for part in (self.bucket, self.prefix, name) if part)

    @staticmethod
    def _name(key: str) -> str:
        """The object's name under the prefix; only ever made from a checked key."""
        return f"{check_key(key)[:2]}/{key}"

    async def exists(self, key: str) -> bool:
        name = self._name(key)
        with _unavailable("look up", name):
            try:
                await obstore.head_async(self._store, name)
            except (FileNotFoundError, NotFoundError):
                return False
        return True

    async def put(self, key: str, chunks: AsyncIterator[bytes], max_size: int) -> bool:
        name = self._name(key)
        if await self.exists(key):
            await drain(chunks)  # the content is already here
            return False
        upload = _Upload(key, max_size, _pieces(chunks))
        first = await upload.gather(PART)
        with _unavailable("store", name):
            if upload.ended:
                upload.check()
                try:
                    await obstore.put_async(self._store, name, first, mode="create")
                except AlreadyExistsError:
                    return False  # written meanwhile by another upload
                return True
            await obstore.put_async(
                self._store, name, upload.rest(first),
                chunk_size=PART, max_concurrency=PARTS_IN_FLIGHT,
            )  # fmt: skip
        return True

    async def open(self, key: str, verify_first: int = 0) -> StoredBlob | None:
        name = self._name(key)
        with _unavailable("read", name):
            try:
                result = await obstore.get_async(self._store, name)
            except (FileNotFoundError, NotFoundError):
                return None
        size = result.meta["size"]
        e_tag = result.meta["e_tag"]

        async def put_aside(digest: str) -> None:
            await self._put_aside(key, e_tag, digest)

        content = verified(key, _stream(result.stream(min_chunk_size=CHUNK), name), put_aside)
        if size > verify_first:
            return StoredBlob(size, content)
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            async for chunk in content:  # raises BlobCorrupt at the end
                await asyncio.to_thread(spool.write, chunk)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return StoredBlob(size, _read(spool))

    async def open_range(
        self, key: str, requested: ByteRange, verify_first: int = 0
    ) -> StoredRange | None:
        name = self._name(key)
        with _unavailable("look up", name):
            try:
                meta = await obstore.head_async(self._store, name)
            except (FileNotFoundError, NotFoundError):
                return None
        size = meta["size"]
        found = requested.resolve(size)
        if found is None:
            raise RangeNotSatisfiable(size)
        start, end = found
        if size <= verify_first:
            whole = await self.open(key, verify_first)
            if whole is None:
                return None
            return StoredRange(size, start, end, span(whole.chunks, start, end - start + 1))
        with _unavailable("read", name):
            try:
                result = await obstore.get_async(
                    self._store, name, options={"range": (start, end + 1)}
                )
            except (FileNotFoundError, NotFoundError):
                return None
        chunks = _stream(result.stream(min_chunk_size=CHUNK), name)
        return StoredRange(size, start, end, chunks)

    async def _put_aside(self, key: str, e_tag: str | None, digest: str) -> None:
        """Copy the corrupt object that was read under ``corrupt/``, delete it, log it.

        Only the object that was read is removed: if its ETag has changed, a good
        upload has replaced it since. (Between that look and the delete a new one
        could still land and be deleted: the next read is then a 404 and the
        agent uploads it again.)
        """
        name = self._name(key)
        destination = f"{CORRUPT}/{key}.{time.time_ns()}"
        outcome = "it was replaced or removed meanwhile"
        try:
            current = await obstore.head_async(self._store, name)
            if e_tag is not None and current["e_tag"] == e_tag:
                await obstore.copy_async(self._store, name, destination)
                await obstore.delete_async(self._store, name)
                outcome = f"moved it to {self._url(destination)}"
        except (FileNotFoundError, NotFoundError):
            pass
        except BaseError as e:
            outcome = f"could not put it aside: {_first_line(e)}"
        logger.error(
            "blob %s is corrupt: the content of %s hashes to %s; %s",
            key, self._url(name), digest, outcome,
        )  # fmt: skip


def parse_url(url: str) -> tuple[str, str]:
    """The bucket and prefix of ``s3://bucket/prefix`` (the prefix may be empty).

    Raises:
        ValueError: not such a URL, or a bucket or prefix S3 would not take as it is.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an S3 URL: {url!r} (expected s3://bucket or s3://bucket/prefix)")
    if parts.query or parts.fragment or not _BUCKET.fullmatch(parts.netloc):
        raise ValueError(
            f"{url!r}: a bucket name is 3 to 63 lowercase letters, digits, dots and hyphens,"
            " with no query or fragment after the prefix"
        )
    prefix = parts.path.strip("/")
    segments = prefix.split("/") if prefix else []
    if any(not _SEGMENT.fullmatch(s) or s in (".", "..") for s in segments):
        raise ValueError(
            f"{url!r}: a prefix is made of segments of letters, digits, '.', '_' and '-'"
            " separated by single slashes"
        )
    return parts.netloc, prefix


# --- settings ------------------------------------------------------------------------

# obstore reads the AWS variables itself, and a value passed in ``config`` would
# override them: so the shared files only fill in what the variables leave out.
_REGION = ("AWS_REGION", "AWS_DEFAULT_REGION")
_ENDPOINT = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
_CREDENTIALS = {
    "access_key_id": "aws_access_key_id",
    "secret_access_key": "aws_secret_access_key",
    "session_token": "aws_session_token",
}


def _settings(env: Mapping[str, str]) -> tuple[S3Config, str | None]:
    """What the shared AWS files add to the variables, and the endpoint in force."""
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    home = Path(env.get("HOME") or Path.home())
    credentials = _section(
        Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials"), profile
    )
    settings = _section(
        Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config"),
        "default" if profile == "default" else f"profile {profile}",
    )
    config: S3Config = {}
    # Credentials come whole from one place (the variables, else the credentials
    # file, else the config file): never a key from one and a secret from another.
    if not env.get("AWS_ACCESS_KEY_ID"):
        source = next((s for s in (credentials, settings) if s.get("aws_access_key_id")), {})
        for option, name in _CREDENTIALS.items():
            if source.get(name):
                config[option] = source[name]  # type: ignore[literal-required]
    if not any(env.get(name) for name in _REGION) and settings.get("region"):
        config["region"] = settings["region"]
    endpoint = next((env[name] for name in _ENDPOINT if env.get(name)), None)
    if endpoint is None and settings.get("endpoint_url"):
        endpoint = config["endpoint"] = settings["endpoint_url"]
    return config, endpoint


def _section(path: Path, name: str) -> dict[str, str]:
    """One section of an AWS shared file (INI), or nothing if there is none."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text())
    except (OSError, UnicodeDecodeError, configparser.Error):
        return {}
    return dict(parser[name]) if parser.has_section(name) else {}


# --- streams -------------------------------------------------------------------------


class _Upload:
    """An upload's content, counted and hashed as it goes by."""

    def __init__(self, key: str, max_size: int, pieces: AsyncIterator[bytes]) -> None:
        self.key = key
        self.max_size = max_size
        self.size = 0
        self.ended = False
        self._pieces = pieces
        self._digest = hashlib.sha256()

    async def _next(self) -> bytes | None:
        try:
            piece = await anext(self._pieces)
        except StopAsyncIteration:
            self.ended = True
            return None
        self.size += len(piece)
        if self.size > self.max_size:
            raise BadRequest("blob_too_large", f"a blob may be at most {self.max_size} bytes")
        await asyncio.to_thread(self._digest.update, piece)
        return piece

    async def gather(self, limit: int) -> bytes:
        """The content up to at least ``limit`` bytes (less if it ends first)."""
        gathered: list[bytes] = []
        size = 0
        while size < limit and (piece := await self._next()) is not None:
            gathered.append(piece)
            size += len(piece)
        return b"".join(gathered)

    def check(self) -> None:
        """Raise unless the whole content, read to its end, hashed to the key.

        Raises:
            BadRequest: ``blob_hash_mismatch``.
        """
        digest = self._digest.hexdigest()
        if digest != self.key:
            raise BadRequest(
                "blob_hash_mismatch", f"the content's sha256 is {digest}, not {self.key}"
            )

    async def rest(self, first: bytes) -> AsyncIterator[bytes]:
        """``first``, then the rest; raising instead of ending unless it all matched
        (which aborts the multipart upload this feeds)."""
        yield first
        while (piece := await self._next()) is not None:
            yield piece
        self.check()


async def _pieces(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` (a request's, often 64 KiB) gathered into pieces of about ``CHUNK``."""
    pending: list[bytes] = []
    size = 0
    async for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= CHUNK:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


async def _stream(chunks: AsyncIterator[bytes], name: str) -> AsyncIterator[bytes]:
    """An object's content, with the object store's errors made ``Unavailable``."""
    while True:
        with _unavailable("read", name):
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                return
        yield chunk


async def _read(file: IO[bytes]) -> AsyncIterator[bytes]:
    with file:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk


@contextlib.contextmanager
def _unavailable(doing: str, name: str) -> Iterator[None]:
    """Turn the object store's errors (not ours: a refused upload stays a BadRequest)
    into ``Unavailable``."""
    try:
        yield
    except BaseError as e:
        if isinstance(e, NotFoundError | AlreadyExistsError):
            raise
        raise Unavailable(
            "blob_store_unavailable", f"could not {doing} blob object {name}: {_first_line(e)}"
        ) from e


def _first_line(error: BaseException) -> str:
    """obstore's messages carry a debug dump after their first line."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
