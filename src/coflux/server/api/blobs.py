"""Blob endpoints: PUT and GET by content hash, whatever store is behind them.

Any valid token may read a blob by its key (the key, a sha256 of the content, is
the capability: it is known only to who knows the content or a value naming
it); a token that may write somewhere may upload one (see docs/security.md).

The server streams both ways: an upload goes from the request body into the
store chunk by chunk, a download from the store into the response, so no blob
is ever held in memory whole. What is served is verified (``serve_blob``, also
for asset files): never content that does not hash to its key (docs/api.md,
"Blobs").

GETs answer a single HTTP Range (``bytes=a-b``, ``a-``, ``-n``) with a 206 and
its ``Content-Range``, or a 416 when no byte of the blob is in it; a Range the
server does not serve (several ranges, another unit, bad syntax, an ``If-Range``
naming other content) is ignored and the whole blob sent, as RFC 9110 allows.
A part is verified only when the whole blob is small enough to hash first
(``VERIFY_FIRST``; see ``coflux.blobs.base``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from coflux.blobs.base import BlobCorrupt, BlobStore, ByteRange, RangeNotSatisfiable, drain
from coflux.errors import Refused
from coflux.server.context import ServerContext
from coflux.server.routes import error_response

MAX_BLOB = 4 * 1024**3
# Blobs up to this size are hashed before the answer starts (about 20 ms at
# 1.5 GB/s), so a corrupt one is a clear 500. Larger ones are hashed as they
# stream, their last chunk held back until the hash matches: no wait before the
# first byte, no second read, and a corrupt one breaks off short of its length.
VERIFY_FIRST = 32 * 1024**2
_ONE_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


async def put_blob(request: Request) -> Response:
    context: ServerContext = request.app.state.context
    try:
        created = await context.blobs.put(request.path_params["key"], request.stream(), MAX_BLOB)
    except Refused as e:  # a bad key or content; or the store is unavailable
        return error_response(e.status, e.reason, e.message)
    return Response(status_code=201 if created else 200)


async def get_blob(request: Request) -> Response:
    context: ServerContext = request.app.state.context
    try:
        response = await serve_blob(request, context.blobs, request.path_params["key"])
    except Refused as e:  # not a blob key, or the store is unavailable
        return error_response(e.status, e.reason, e.message)
    if response is None:
        return error_response(404, "unknown_blob", "no blob has that key")
    return response


async def serve_blob(
    request: Request,
    store: BlobStore,
    key: str,
    *,
    media_type: str = "application/octet-stream",
    filename: str | None = None,
    disposition: str = "attachment",
    headers: Mapping[str, str] | None = None,
) -> Response | None:
    """A response with a stored blob's content, verified; None if it is not stored.

    A corrupt blob (put aside by the store, and logged) is a 500 ``blob_corrupt``,
    or, past ``VERIFY_FIRST`` bytes, a response that breaks off before its end.
    A HEAD is always verified first: an agent skips an upload when HEAD says 200.
    A GET with one byte range is answered with that part (206, or 416 when it is
    outside the blob; see the module docstring).

    Raises:
        BadRequest: ``key`` is not a blob key.
        Unavailable: the store cannot be reached.
    """
    head = request.method == "HEAD"
    requested = None if head else requested_range(request.headers, key)
    described = {
        **(headers or {}),
        "accept-ranges": "bytes",
        # The key names the content: the strongest validator there is.
        "etag": f'"{key}"',
    }
    if filename is not None:
        described["content-disposition"] = _disposition(disposition, filename)
    try:
        if requested is not None:
            return await _serve_range(store, key, requested, described, media_type)
        # A HEAD reads the blob through once, hashing, and keeps none of it.
        blob = await store.open(key, verify_first=0 if head else VERIFY_FIRST)
        if blob is not None and head:
            await drain(blob.chunks)
    except BlobCorrupt as e:
        return error_response(
            500, "blob_corrupt", f"{e}; it was put aside: upload the right content again"
        )
    if blob is None:
        return None
    described["content-length"] = str(blob.size)
    if head:
        return Response(headers=described, media_type=media_type)
    return StreamingResponse(blob.chunks, headers=described, media_type=media_type)


async def _serve_range(
    store: BlobStore, key: str, requested: ByteRange, described: dict[str, str], media_type: str
) -> Response | None:
    """A 206 with the part of the blob asked for, a 416, or None if it is not stored."""
    try:
        part = await store.open_range(key, requested, verify_first=VERIFY_FIRST)
    except RangeNotSatisfiable as e:
        unsatisfiable = {**described, "content-range": f"bytes */{e.size}"}
        response = error_response(416, "range_not_satisfiable", str(e))
        response.headers.update(unsatisfiable)
        return response
    if part is None:
        return None
    described["content-range"] = f"bytes {part.start}-{part.end}/{part.size}"
    described["content-length"] = str(part.end - part.start + 1)
    return StreamingResponse(part.chunks, status_code=206, headers=described, media_type=media_type)


def requested_range(headers: Mapping[str, str], key: str) -> ByteRange | None:
    """The one byte range a request asks for, or None to send the whole blob: no
    ``Range``, one the server does not serve, or an ``If-Range`` for other content."""
    header = headers.get("range")
    if header is None:
        return None
    if_range = headers.get("if-range")
    if if_range is not None and if_range.strip() != f'"{key}"':
        return None  # the client's copy is not this content: it needs the whole
    found = _ONE_RANGE.fullmatch(header.strip())
    if found is None:
        return None
    first, last = found.groups()
    if not first:
        return ByteRange(suffix=int(last)) if last else None
    if last and int(last) < int(first):
        return None  # not a valid range: ignored (RFC 9110, 14.2)
    return ByteRange(int(first), int(last) if last else None)


def _disposition(kind: str, filename: str) -> str:
    """A ``Content-Disposition`` value naming ``filename`` (RFC 6266: quoted when it
    is plain, percent-encoded UTF-8 in ``filename*`` when it is not)."""
    encoded = quote(filename)
    if encoded == filename:
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename*=utf-8''{encoded}"
