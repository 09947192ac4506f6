"""Blob endpoints of the embedded store: PUT and GET by content hash.

Any valid token may read a blob by its key (the key, a sha256 of the content, is
the capability: it is known only to who knows the content or a value naming
it); a token that may write somewhere may upload one (see docs/security.md).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from coflux.errors import BadRequest
from coflux.server.context import ServerContext
from coflux.server.routes import error_response

MAX_BLOB = 4 * 1024**3


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
        path = context.blobs.path(request.path_params["key"])
    except BadRequest as e:
        return error_response(e.status, e.reason, e.message)
    if path is None:
        return error_response(404, "unknown_blob", "no blob has that key")
    return FileResponse(path, media_type="application/octet-stream")
