"""Assets: inspect one, list a run's, download one of their files; and the checks
an asset passes before it is recorded (``PersistAsset`` from an agent).

An asset's files are blobs; its entries name them by relative path. Entries are
checked when the asset is recorded (relative, normalised, no ``..``, under the
asset's path, blobs present in the store), and a file is downloaded by looking
its path up among the entries, never by touching the filesystem with it, so no
request can reach outside the blob store.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from starlette.requests import Request
from starlette.responses import Response

from coflux import protocol
from coflux.blobs.base import KEY_PATTERN, BlobStore
from coflux.errors import BadRequest, CofluxError, Refused
from coflux.orchestration.project import Project
from coflux.sdk.assets import asset_path_problem, path_problem
from coflux.server.api.blobs import serve_blob
from coflux.server.context import ServerContext
from coflux.server.routes import Call, error_response
from coflux.views import RunAssets

ASSET_ID = re.compile(r"^[a-z0-9]{8,32}$")
MAX_ENTRIES = 100_000
CHECKS_AT_ONCE = 32  # blob look-ups in flight while an asset is checked


def _project(call: Call) -> Project:
    return call.context.projects.get(call.path["project"])


async def get_asset(call: Call) -> protocol.AssetInfo:
    return await _project(call).get_asset(call.path["asset_id"])


async def list_run_assets(call: Call) -> RunAssets:
    return await _project(call).list_run_assets(call.path["run_id"])


async def download_file(request: Request) -> Response:
    """``GET /api/projects/{project}/assets/{asset_id}/files/{path}``: one file's content.

    ``?inline=1`` asks for ``Content-Disposition: inline`` (for previews); the
    content is then sandboxed, since it is whatever an execution wrote.
    """
    context: ServerContext = request.app.state.context
    path = request.path_params["path"]
    try:
        project = context.projects.get(request.path_params["project"])
        asset = await project.get_asset(request.path_params["asset_id"])
        environment = await project.environment_of("asset_id", asset.id)
        if environment is not None:
            request.state.principal.require(project.info.id, environment)
    except Refused as e:
        return error_response(e.status, e.reason, e.message)
    entry = next((e for e in asset.entries if e.path == path), None)
    if entry is None:
        return error_response(404, "unknown_asset_file", f"asset {asset.id} has no file {path!r}")
    inline = request.query_params.get("inline") in ("1", "true")
    headers = {"X-Content-Type-Options": "nosniff"}
    if inline:
        headers["Content-Security-Policy"] = "sandbox"
    media_type, _ = mimetypes.guess_type(PurePosixPath(entry.path).name)
    try:
        response = await serve_blob(
            request, context.blobs, entry.blob,
            media_type=media_type or "application/octet-stream",
            filename=PurePosixPath(entry.path).name,
            disposition="inline" if inline else "attachment",
            headers=headers,
        )  # fmt: skip
    except Refused as e:  # the blob store is unavailable
        return error_response(e.status, e.reason, e.message)
    if response is None:
        return error_response(404, "unknown_blob", f"the content of {path!r} is missing")
    return response


async def asset_of(request: protocol.PersistAsset, blobs: BlobStore) -> protocol.AssetInfo:
    """The asset a ``PersistAsset`` describes, once it has been checked.

    Raises:
        BadRequest: a bad id, path or blob key, an entry outside the asset's
            path, or a blob the store does not have (nothing is recorded).
    """
    if not ASSET_ID.fullmatch(request.asset_id):
        raise BadRequest("invalid_asset_id", "an asset id is 8 to 32 lowercase letters or digits")
    problem = asset_path_problem(request.path)
    if problem is not None:
        raise BadRequest("unsafe_asset_path", f"asset path {request.path!r}: {problem}")
    if len(request.entries) > MAX_ENTRIES:
        raise BadRequest("too_many_files", f"an asset may hold at most {MAX_ENTRIES} files")
    if request.kind == "file" and (
        len(request.entries) != 1 or request.entries[0].path != request.path
    ):
        raise BadRequest("invalid_asset", "a file asset has exactly one entry: the file")
    prefix = "" if request.path == "." else request.path + "/"
    seen: set[str] = set()
    for entry in request.entries:
        problem = path_problem(entry.path)
        if problem is not None:
            raise BadRequest("unsafe_asset_path", f"asset entry {entry.path!r}: {problem}")
        if request.kind == "directory" and not entry.path.startswith(prefix):
            raise BadRequest(
                "invalid_asset", f"asset entry {entry.path!r} is not inside {request.path!r}"
            )
        if entry.path in seen:
            raise BadRequest("invalid_asset", f"asset entry {entry.path!r} is listed twice")
        seen.add(entry.path)
        if entry.size < 0:
            raise BadRequest("invalid_asset", f"asset entry {entry.path!r} has a negative size")
        if not KEY_PATTERN.fullmatch(entry.blob):
            raise BadRequest("invalid_blob_key", f"asset entry {entry.path!r}: bad blob key")
    await _check_present(request.entries, blobs)
    return protocol.AssetInfo(
        id=request.asset_id,
        execution_id=request.execution_id,
        kind=request.kind,
        path=request.path,
        size=sum(entry.size for entry in request.entries),
        file_count=len(request.entries),
        metadata=dict(request.metadata),
        entries=tuple(sorted(request.entries, key=lambda entry: entry.path)),
    )


async def _check_present(entries: Sequence[protocol.AssetEntry], blobs: BlobStore) -> None:
    """Raise unless the store has every entry's blob, asking about each key once and
    about a few at a time (each may be a request to an object store).

    Raises:
        BadRequest: ``unknown_blob``, naming the first entry (in order) whose blob is missing.
    """
    keys = list(dict.fromkeys(entry.blob for entry in entries))
    present: dict[str, bool] = {}
    for start in range(0, len(keys), CHECKS_AT_ONCE):
        batch = keys[start : start + CHECKS_AT_ONCE]
        found = await asyncio.gather(*(blobs.exists(key) for key in batch))
        present.update(zip(batch, found, strict=True))
    for entry in entries:
        if not present[entry.blob]:
            raise BadRequest(
                "unknown_blob", f"the content of {entry.path!r} is not in the blob store"
            )


async def answer_request(
    project: Project,
    blobs: BlobStore,
    session_id: str,
    message: protocol.PersistAsset | protocol.RestoreAsset,
) -> protocol.AssetReply:
    """Record a ``PersistAsset`` or ``RestoreAsset`` from an agent; the reply to send back."""
    try:
        if isinstance(message, protocol.PersistAsset):
            asset = await asset_of(message, blobs)
            recorded = await project.persist_asset(session_id, asset)
        else:
            recorded = await project.restore_asset(
                session_id, message.execution_id, message.asset_id
            )
    except CofluxError as e:
        info = protocol.ErrorInfo(type=type(e).__name__, message=str(e))
        return protocol.AssetReply(message.request_id, error=info)
    return protocol.AssetReply(message.request_id, asset=recorded)
