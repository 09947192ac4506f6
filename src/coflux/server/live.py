"""The live subscription WebSocket (``/api/live``): a snapshot, then facts.

A client subscribes to a run; it receives the run as it is now, then every fact
about the run as it is committed, and a final ``ended`` message once the run's
first step has finished. The subscription is opened before the snapshot is
read, so no fact can fall between the two (a fact may appear in both; applying
a fact twice must be harmless to clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from coflux.errors import CofluxError
from coflux.orchestration.effects import Fact
from coflux.server.context import ServerContext
from coflux.server.routes import ErrorBody, ErrorDetail
from coflux.store.base import RunView

logger = logging.getLogger(__name__)


class SubscribeRun(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    subscribe: str
    project: str
    run_id: str


class RunSnapshot(msgspec.Struct, frozen=True):
    snapshot: RunView
    topic: str = "run"


class RunFacts(msgspec.Struct, frozen=True):
    facts: list[Fact]
    topic: str = "run"


class RunEnded(msgspec.Struct, frozen=True):
    ended: bool = True
    topic: str = "run"


_encoder = msgspec.json.Encoder()


async def live_endpoint(websocket: WebSocket) -> None:
    context: ServerContext = websocket.app.state.context
    await websocket.accept()
    if not context.authorised(websocket.headers):
        await websocket.send_bytes(
            _encoder.encode(ErrorBody(ErrorDetail("unauthorised", "a valid token is required")))
        )
        await websocket.close(4005)
        return
    with contextlib.suppress(WebSocketDisconnect):
        try:
            request = msgspec.json.decode(await websocket.receive_text(), type=SubscribeRun)
            if request.subscribe != "run":
                raise CofluxError(f"unknown topic {request.subscribe!r}")
            project = context.projects.get(request.project)
            subscription = context.topics.subscribe_run(project.info.id, request.run_id)
        except (msgspec.DecodeError, CofluxError, KeyError) as e:
            reason = getattr(e, "reason", "bad_subscription")
            await websocket.send_bytes(_encoder.encode(ErrorBody(ErrorDetail(reason, str(e)))))
            await websocket.close(1008)
            return
        try:
            await _stream_run(websocket, project, request.run_id, subscription.queue)
        finally:
            subscription.close()


async def _stream_run(websocket, project, run_id: str, queue: asyncio.Queue[list[Fact]]) -> None:  # type: ignore[no-untyped-def]
    try:
        run = await project.get_run(run_id)
    except CofluxError as e:
        await websocket.send_bytes(
            _encoder.encode(ErrorBody(ErrorDetail(getattr(e, "reason", "error"), str(e))))
        )
        await websocket.close(1008)
        return
    await websocket.send_bytes(_encoder.encode(RunSnapshot(run)))
    ended = run.completed_at is not None
    while not ended:
        facts = await queue.get()
        await websocket.send_bytes(_encoder.encode(RunFacts(facts)))
        run = await project.get_run(run_id) if _touches_root(facts, run) else run
        ended = run.completed_at is not None
    await websocket.send_bytes(_encoder.encode(RunEnded()))
    await websocket.close()


def _touches_root(facts: list[Fact], run: RunView) -> bool:
    root_step = run.steps[0].id
    return any(getattr(f, "execution_id", "").startswith(root_step + ":") for f in facts)
