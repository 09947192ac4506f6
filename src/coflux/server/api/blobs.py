"""Blob endpoints of the embedded store: PUT and GET by content hash.

Any valid token may read a blob by its key (the key, a sha256 of the content, is
the capability: it is known only to who knows the content or a value naming
it); a token that may write somewhere may upload one (see docs/security.md).

What is served is verified (``serve_blob``, also for asset files): never
content that does not hash to its key (docs/api.md, "Blobs").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from coflux.blobs.base import BlobCorrupt, BlobStore
from coflux.errors import BadRequest
from coflux.server.context import ServerContext
from coflux.server.routes import error_response

MAX_BLOB = 4 * 1024**3
# Blobs up to this size are hashed before the answer starts (about 20 ms at
# 1.5 GB/s), so a corrupt one is a clear 500. Larger ones are hashed as they
# stream, their last chunk held back until the hash matches: no wait before the
# first byte, no second read, and a corrupt one breaks off short of its length.
VERIFY_FIRST = 32 * 1024**2


async def put_blob(request: Request) -> Response:
    context: ServerContext = request.app.state.context
    try:
        created = await context.blobs.put(request.path_params["key"], request.stream(), MAX_BLOB)
    except BadRequest as e:
        return error_response(e.status, e.reason, e.message)
    return Response(status_code=201 if created else 200)


async def get_blob(request: Request) -> Response:
    context: ServerContext = request.app.state.context
    try:
        response = await serve_blob(request, context.blobs, request.path_params["key"])
    except BadRequest as e:  # not a blob key
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
    """
    path = store.path(key)
    try:
        stat = path.stat() if path is not None else None
    except FileNotFoundError:
        stat = None
    if path is None or stat is None:
        return None
    if stat.st_size > VERIFY_FIRST and request.method != "HEAD":
        # Only for its headers (length, type, disposition): the body is streamed,
        # whole (no ranges: a range could not be verified without reading it all).
        described = FileResponse(
            path, headers=headers, media_type=media_type, filename=filename,
            stat_result=stat, content_disposition_type=disposition,
        )  # fmt: skip
        del described.headers["accept-ranges"]
        return StreamingResponse(store.chunks(key), headers=dict(described.headers))
    try:
        verified = await asyncio.to_thread(store.verify, key)
    except BlobCorrupt as e:
        return error_response(
            500, "blob_corrupt", f"{e}; it was put aside: upload the right content again"
        )
    if verified is None:
        return None
    return FileResponse(
        verified, headers=headers, media_type=media_type, filename=filename,
        content_disposition_type=disposition,
    )  # fmt: skip
