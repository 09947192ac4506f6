"""The agent gateway: one WebSocket per agent connection, speaking ``protocol``.

The first message must be a ``Hello`` with our protocol version, a known project
and environment; otherwise the connection is closed with a named code and reason.
After the ``Welcome``, each message is decoded once, turned into an event for the
project's actor and posted without waiting, so a busy agent is never slowed to
one commit per message; refusals come back as protocol replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from coflux import protocol
from coflux.blobs.base import BlobStore
from coflux.errors import BadRequest, CofluxError, Conflict, NotFound, SessionRefused, Unavailable
from coflux.ids import run_of
from coflux.orchestration import events as ev
from coflux.orchestration import inputs
from coflux.orchestration.effects import Send
from coflux.orchestration.project import Project, new_id
from coflux.orchestration.sessions import holds_secret
from coflux.server.api import assets
from coflux.server.auth import Principal
from coflux.server.context import ServerContext
from coflux.server.sessions import Outbox

logger = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0
_connections = itertools.count(1)


async def agent_endpoint(websocket: WebSocket) -> None:
    context: ServerContext = websocket.app.state.context
    # The token was checked before this (coflux.server.auth); the project and
    # environment it may serve are checked against the hello.
    principal: Principal = websocket.state.principal
    await websocket.accept()
    try:
        frame = await asyncio.wait_for(websocket.receive(), HELLO_TIMEOUT)
        first = protocol.decode_agent_frame(frame.get("bytes") or frame.get("text") or b"")
    except (TimeoutError, protocol.ProtocolError, WebSocketDisconnect) as e:
        await _close(websocket, protocol.CLOSE_BAD_HANDSHAKE, f"expected a hello message: {e}")
        return
    hello = first[0]
    if len(first) != 1 or not isinstance(hello, protocol.Hello):
        await _close(
            websocket, protocol.CLOSE_BAD_HANDSHAKE, "the first frame must be one hello message"
        )
        return
    if not protocol.MIN_PROTOCOL_VERSION <= hello.protocol_version <= protocol.PROTOCOL_VERSION:
        reason = (
            f"protocol version mismatch: the server speaks {protocol.MIN_PROTOCOL_VERSION}"
            f" to {protocol.PROTOCOL_VERSION}, the agent speaks {hello.protocol_version}"
        )
        await _close(websocket, protocol.CLOSE_PROTOCOL_MISMATCH, reason)
        return
    projects = context.projects
    owner = await projects.owner_of(hello.project, wait=projects.patience)
    if owner is not None:  # another server owns the project: the agent goes there
        await _close(websocket, protocol.CLOSE_MOVED, owner)
        return
    try:
        project = context.projects.get(hello.project)
    except CofluxError as e:
        # A project whose file could not be opened may be restored: the agent retries.
        unavailable = isinstance(e, Unavailable)
        code = protocol.CLOSE_UNAVAILABLE if unavailable else protocol.CLOSE_UNKNOWN_PROJECT
        await _close(websocket, code, str(e))
        return
    if not principal.may(project.info.id, hello.environment, write=True):
        reason = f"this token may not serve environment '{hello.environment}' of {hello.project}"
        await _close(websocket, protocol.CLOSE_UNAUTHORISED, reason)
        return
    await _serve_session(websocket, context, project, hello)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # Close reasons are limited to 123 bytes by the WebSocket protocol.
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code, reason.encode()[:123].decode(errors="ignore"))


async def _serve_session(
    websocket: WebSocket, context: ServerContext, project: Project, hello: protocol.Hello
) -> None:
    connection = next(_connections)
    outbox = Outbox()
    project_id = project.info.id
    # A hello that names a session without its secret must not even displace that
    # session's connection (binding below would): refused before anything happens.
    try:
        named = project.actor.session(hello.session_id) if hello.session_id else None
    except Unavailable as e:
        await _close(websocket, protocol.CLOSE_UNAVAILABLE, str(e))
        return
    if named is not None and not holds_secret(named, hello.session_secret):
        logger.warning("refused a hello naming session %s without its secret", named.id)
        reason = f"session {named.id} can be resumed only with its secret"
        await _close(websocket, protocol.CLOSE_SESSION_REFUSED, reason)
        return
    fresh = new_id(16)
    candidates = {fresh} | ({named.id} if named is not None else set())
    # Bind before connecting: the Welcome and the first assignments are delivered
    # in the same batch that opens the session.
    for candidate in candidates:
        context.sessions.bind(project_id, candidate, outbox)
    event = ev.ConnectSession(
        fresh, connection, hello.environment, hello, secrets.token_urlsafe(32)
    )
    try:
        await project.ensure_environment(hello.environment)
        effects = await project.actor.call(event)
    except CofluxError as e:
        for candidate in candidates:
            context.sessions.unbind(project_id, candidate, outbox)
        # The agent retries an unavailable project (it is being rebuilt), and starts
        # a new session when its own cannot be resumed; an unknown environment is
        # for good.
        if isinstance(e, Unavailable):
            code = protocol.CLOSE_UNAVAILABLE
        elif isinstance(e, SessionRefused):
            code = protocol.CLOSE_SESSION_REFUSED
        else:
            code = protocol.CLOSE_UNKNOWN_ENVIRONMENT
        await _close(websocket, code, str(e))
        return
    welcome = next(
        x.message
        for x in effects
        if isinstance(x, Send) and isinstance(x.message, protocol.Welcome)
    )
    session_id = welcome.session_id
    for candidate in candidates - {session_id}:
        context.sessions.unbind(project_id, candidate, outbox)
    # Bound before the session was opened, the outbox may hold messages that other
    # batches sent the resumed session meanwhile (a ResultReady): after the Welcome.
    outbox.put_first(welcome)
    logger.info(
        "agent connected to project %s as session %s (connection %d, resumed=%s)",
        project_id, session_id, connection, welcome.resumed,
    )  # fmt: skip
    writer = asyncio.create_task(_write(websocket, outbox))
    try:
        await _read(websocket, project, session_id, outbox)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        context.sessions.unbind(project_id, session_id, outbox)
        project.actor.post(ev.DisconnectSession(session_id, connection))
        logger.info("agent session %s disconnected (connection %d)", session_id, connection)


async def _write(websocket: WebSocket, outbox: Outbox) -> None:
    # Whatever queued up while the last frame was written goes out as one frame.
    while True:
        messages = await outbox.take()
        if messages:
            await websocket.send_bytes(protocol.encode_frame(messages))
        if outbox.closed and outbox.empty:  # replaced by a newer connection, or unavailable
            await _close(websocket, outbox.close_code, outbox.close_reason)
            return


async def _read(websocket: WebSocket, project: Project, session_id: str, outbox: Outbox) -> None:
    while True:
        try:
            data = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if data["type"] == "websocket.disconnect":
            return
        raw = data.get("bytes") or data.get("text") or b""
        try:
            for message in protocol.decode_agent_frame(raw):
                _dispatch(project, session_id, message, outbox, websocket.app.state.context.blobs)
        except (protocol.ProtocolError, BadRequest) as e:
            logger.warning("session %s sent a bad message: %s", session_id, e)
            await _close(websocket, protocol.CLOSE_BAD_MESSAGE, f"bad message: {e}")
            return


def _dispatch(
    project: Project,
    session_id: str,
    message: protocol.AgentMessage,
    outbox: Outbox,
    blobs: BlobStore,
) -> None:
    actor = project.actor
    match message:
        case protocol.Hello():
            raise BadRequest("unexpected_hello", "hello is only valid as the first message")
        case protocol.Declare(targets=targets):
            actor.post(ev.DeclareTargets(session_id, targets))
        case protocol.Submit(request_id=request_id):

            def refuse_submit(error: CofluxError) -> None:
                info = protocol.ErrorInfo(type=type(error).__name__, message=str(error))
                outbox.put(protocol.Submitted(request_id, None, info))

            # A workflow called from a task starts its own run, which needs an id.
            run_id = new_id() if message.type == "workflow" else None
            actor.post(ev.ScheduleStep(session_id, message, run_id), refuse_submit)
        case protocol.GetResult(request_id=request_id, execution_id=execution_id):

            def refuse_result(error: CofluxError) -> None:
                info = protocol.ErrorInfo(type=type(error).__name__, message=str(error))
                outbox.put(protocol.ResultReady(request_id, execution_id, protocol.Failed(info)))

            actor.post(ev.RequestResult(session_id, message), refuse_result)
        case protocol.Complete(execution_id=execution_id, outcome=outcome):

            def refuse_complete(error: CofluxError) -> None:
                logger.warning(
                    "session %s: completion of %s refused: %s", session_id, execution_id, error
                )
                if isinstance(error, BadRequest) and not isinstance(error, Conflict | NotFound):
                    # The execution ended, with an outcome the engine cannot keep (it
                    # names what does not exist, say): it failed, saying why, rather
                    # than stay assigned until its session expires.
                    info = protocol.ErrorInfo(
                        "coflux.ResultRefused", f"the result was refused: {error}"
                    )
                    failed = ev.CompleteExecution(session_id, execution_id, protocol.Failed(info))
                    actor.post(failed, lambda _: outbox.put(protocol.Ack((execution_id,))))
                    return
                # Nothing more can be done with it; stop the agent resending it.
                outbox.put(protocol.Ack((execution_id,)))

            actor.post(ev.CompleteExecution(session_id, execution_id, outcome), refuse_complete)
        case protocol.CancelExecution(execution_id=execution_id, from_execution_id=asker):

            def refuse_cancel(error: CofluxError) -> None:
                logger.info("session %s: cancel of %s refused: %s", session_id, execution_id, error)

            actor.post(ev.CancelExecution(execution_id, session_id, asker), refuse_cancel)
        case protocol.Checkpoint(execution_id=execution_id, arguments=arguments):

            def refuse_checkpoint(error: CofluxError) -> None:
                logger.warning(
                    "session %s: checkpoint of %s refused: %s", session_id, execution_id, error
                )

            actor.post(ev.RecordCheckpoint(session_id, execution_id, arguments), refuse_checkpoint)
        case protocol.Blocked(execution_id=execution_id, blocked=blocked):

            def refuse_blocked(error: CofluxError) -> None:
                # An execution that ended (or was cancelled) as its report came in.
                logger.debug(
                    "session %s: report on %s refused: %s", session_id, execution_id, error
                )

            actor.post(ev.ReportBlocked(session_id, execution_id, blocked), refuse_blocked)
        case protocol.Logs(entries=entries):
            project.record_logs(session_id, entries)
        case protocol.Metrics(executions=executions):
            project.record_metrics(session_id, executions)
        case protocol.SubmitInput(request_id=request_id, execution_id=execution_id):
            # The input's id starts with its run's, which holds it (``orchestration.inputs``).
            input_id = inputs.new_input_id(run_of(execution_id), new_id(12))
            actor.post(
                ev.RequestInput(session_id, message, input_id), _refuse_input(request_id, outbox)
            )
        case protocol.GetInput(request_id=request_id):
            actor.post(ev.AwaitInput(session_id, message), _refuse_input(request_id, outbox))
        case protocol.PersistAsset() | protocol.RestoreAsset():
            # Answered once recorded; the reader goes on meanwhile.
            _answer_later(assets.answer_request(project, blobs, session_id, message), outbox)


def _refuse_input(request_id: int, outbox: Outbox) -> Callable[[CofluxError], None]:
    def refuse(error: CofluxError) -> None:
        info = protocol.ErrorInfo(type=type(error).__name__, message=str(error))
        outbox.put(protocol.InputReply(request_id, error=info))

    return refuse


_answering: set[asyncio.Task[None]] = set()  # strong references to running answers


def _answer_later(answer: Coroutine[Any, Any, protocol.ServerMessage], outbox: Outbox) -> None:
    async def run() -> None:
        try:
            outbox.put(await answer)
        except Exception:
            logger.exception("answering an agent request failed")

    task = asyncio.create_task(run())
    _answering.add(task)
    task.add_done_callback(_answering.discard)
