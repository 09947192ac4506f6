"""The live subscription WebSocket (``/api/live``): a snapshot, then facts.

A client sends one subscription:

* ``{"subscribe": "run", "project": P, "run_id": R}``: the run as it is now, then
  every fact about the run as it is committed (log entries and metric points
  included), with an ``ended`` message each time the run's first step finishes (a
  re-run can bring the run back), until the client leaves; with ``"deltas": true``,
  the changes of the run's view instead (``coflux.server.deltas``), and only the
  facts that no view field shows;
* ``{"subscribe": "project", "project": P}``: the project's environments now, then
  every fact of the project except log entries and metrics, until the client leaves.

The subscription is opened before the snapshot is read, so no fact can fall
between the two (a fact may appear in both; applying a fact twice must be
harmless to clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from coflux import protocol
from coflux.errors import BadRequest, CofluxError, Refused
from coflux.ids import step_of
from coflux.orchestration.effects import ExecutionCreated, Fact, MetricsRecorded
from coflux.orchestration.project import Project
from coflux.server import forwarding
from coflux.server.auth import Principal
from coflux.server.context import ServerContext
from coflux.server.deltas import run_deltas
from coflux.server.topics import Subscription
from coflux.views import EnvironmentView, ErrorBody, ErrorDetail, RunDelta, RunView

logger = logging.getLogger(__name__)


class Subscribe(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    subscribe: Literal["run", "project"]
    project: str
    run_id: str | None = None
    deltas: bool = False  # a run's view changes rather than its facts


class RunSnapshot(msgspec.Struct, frozen=True):
    snapshot: RunView
    topic: str = "run"


class ProjectSnapshot(msgspec.Struct, frozen=True):
    environments: list[EnvironmentView]


class ProjectSnapshotMessage(msgspec.Struct, frozen=True):
    snapshot: ProjectSnapshot
    topic: str = "project"


class FactsMessage(msgspec.Struct, frozen=True):
    topic: str
    facts: list[Fact]


class DeltasMessage(msgspec.Struct, frozen=True):
    """A batch of a run's changes: those of its view, and the facts it has
    beyond the view (metrics, assets, inputs), in the order they happened."""

    deltas: list[RunDelta]
    facts: list[Fact]
    topic: str = "run"


class RunEnded(msgspec.Struct, frozen=True):
    ended: bool = True
    topic: str = "run"


_encoder = msgspec.json.Encoder()


async def _refuse(websocket: WebSocket, reason: str, message: str, code: int = 1008) -> None:
    error = ErrorBody(error=ErrorDetail(reason=reason, message=message))
    await websocket.send_bytes(_encoder.encode(error))
    await websocket.close(code)


async def live_endpoint(websocket: WebSocket) -> None:
    context: ServerContext = websocket.app.state.context
    await websocket.accept()
    # The token was checked before this (coflux.server.auth); what it may see is
    # checked against the subscription.
    principal: Principal = websocket.state.principal
    with contextlib.suppress(WebSocketDisconnect):
        try:
            raw = await websocket.receive_text()
            request = msgspec.json.decode(raw, type=Subscribe)
            projects = context.projects
            forwarded = forwarding.FORWARDED in websocket.headers
            owner = (
                None if forwarded else await projects.owner_of(request.project, projects.patience)
            )
            if owner is not None:  # another server owns the project: it answers
                await forwarding.relay(websocket, owner, raw, context.address)
                return
            project = context.projects.get(request.project)
            if request.subscribe == "run" and request.run_id is None:
                raise BadRequest("missing_run_id", "a run subscription needs a run_id")
            principal.require(project.info.id)
            if request.run_id is not None and request.subscribe == "run":
                environment = await project.environment_of("run_id", request.run_id)
                if environment is not None:
                    principal.require(project.info.id, environment)
        except (msgspec.DecodeError, KeyError) as e:
            await _refuse(websocket, "bad_subscription", f"invalid subscription: {e}")
            return
        except Refused as e:  # a bad subscription, a project that cannot serve, a token
            code = protocol.CLOSE_UNAUTHORISED if e.status in (401, 403) else 1008
            await _refuse(websocket, e.reason, e.message, code)
            return
        if request.run_id is not None and request.subscribe == "run":
            subscription = context.topics.subscribe_run(project.info.id, request.run_id)
            try:
                await _stream_run(websocket, project, request.run_id, subscription, request.deltas)
            finally:
                subscription.close()
        else:
            subscription = context.topics.subscribe_project(project.info.id)
            try:
                await _stream_project(websocket, project, subscription, principal)
            finally:
                subscription.close()


async def _until_disconnected(websocket: WebSocket) -> None:
    """Return when the client leaves (it sends nothing after subscribing)."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _next_facts(subscription: Subscription, left: asyncio.Task[None]) -> list[Fact] | None:
    """The next batch of facts, or None once the client has left."""
    getting = asyncio.ensure_future(subscription.queue.get())
    await asyncio.wait({getting, left}, return_when=asyncio.FIRST_COMPLETED)
    if getting.done():
        return getting.result()
    getting.cancel()
    return None


async def _stream_run(
    websocket: WebSocket,
    project: Project,
    run_id: str,
    subscription: Subscription,
    deltas: bool,
) -> None:
    """The run, then its facts (or deltas); ``ended`` once its first step finished,
    and changes still after that (a re-run brings it back) until the client leaves."""
    try:
        run = await project.get_run(run_id)
    except BadRequest as e:
        await _refuse(websocket, e.reason, e.message)
        return
    await websocket.send_bytes(_encoder.encode(RunSnapshot(run)))
    root_step = run.steps[0].id
    ended = run.completed_at is not None
    if ended:
        await websocket.send_bytes(_encoder.encode(RunEnded()))
    names = {e.id: e.name for e in await project.list_environments()} if deltas else {}
    left = asyncio.create_task(_until_disconnected(websocket))
    try:
        while (facts := await _next_facts(subscription, left)) is not None:
            if not deltas:
                await websocket.send_bytes(_encoder.encode(FactsMessage("run", facts)))
            else:
                if any(
                    isinstance(f, ExecutionCreated) and f.environment_id not in names for f in facts
                ):  # an environment made since the snapshot (a re-run in a child)
                    names = {e.id: e.name for e in await project.list_environments()}
                changes, others = run_deltas(run_id, facts, names)
                if changes or others:
                    message = DeltasMessage(changes, others)
                    await websocket.send_bytes(_encoder.encode(message))
            # Only a change of the first step's executions can end the run (not, say,
            # the metrics its workflow records ten times a second).
            if any(
                step_of(getattr(f, "execution_id", "")) == root_step
                and not isinstance(f, MetricsRecorded)
                for f in facts
            ):
                summary = await project.get_run_summary(run_id)
                if summary.completed_at is not None and not ended:
                    await websocket.send_bytes(_encoder.encode(RunEnded()))
                ended = summary.completed_at is not None
    finally:
        left.cancel()


async def _stream_project(
    websocket: WebSocket, project: Project, subscription: Subscription, principal: Principal
) -> None:
    """The project's environments, then its facts; an environment-limited token gets
    only those of its environments (facts that name no environment left out)."""
    try:
        environments = await project.list_environments()
    except CofluxError as e:
        await _refuse(websocket, "error", str(e))
        return
    seen = [e for e in environments if principal.sees_environment(e.name)]
    await websocket.send_bytes(_encoder.encode(ProjectSnapshotMessage(ProjectSnapshot(seen))))
    allowed = {e.id for e in seen}
    left = asyncio.create_task(_until_disconnected(websocket))
    try:
        while (facts := await _next_facts(subscription, left)) is not None:
            if principal.environment_limited:
                facts = [f for f in facts if getattr(f, "environment_id", None) in allowed]
                if not facts:
                    continue
            await websocket.send_bytes(_encoder.encode(FactsMessage("project", facts)))
    finally:
        left.cancel()
