"""The agent's WebSocket connection to the server, and the session it keeps.

This module owns:

* the connect loop: ``ws://HOST/api/agent``, reconnecting with jittered backoff
  until ``close()``; a close with one of the fatal codes of ``coflux.protocol``
  ends it with ``ConnectionRejected`` instead; a ``CLOSE_MOVED`` (another server
  sharing the database owns the project) sends it to the URL in the reason, and
  back to the configured server once that one cannot be reached (less often each
  time while a takeover is under way);
* the handshake: every (re)connect sends ``Hello`` with the last ``Welcome``'s
  session id, so the server resumes the session and does not abandon the
  executions the agent still holds (and knows which of them are blocked:
  ``Blocked`` reports are dropped while disconnected, not resent);
* the outbox: a message whose loss would lose work stays in ``_outstanding``
  until its answer arrives (``Complete`` until ``Ack``, ``Submit`` until
  ``Submitted``, ``GetResult`` until ``ResultReady``, ``PersistAsset`` and
  ``RestoreAsset`` until ``AssetReply``, ``SubmitInput`` and ``GetInput`` until
  ``InputReply``) and is resent, in the
  order first sent, after every reconnect. A submission's outcome comes unasked
  (a ``ResultReady`` with its request id); until it does, a ``GetResult`` for it
  waits in ``_outstanding`` too, sent only after a reconnect (the server drops
  what it sends to a disconnected session). The server de-duplicates submissions
  by ``(parent_execution_id, call_index)``, so resending is safe. Logs and
  metrics are best-effort: buffered (bounded) while disconnected;
* dispatch of server messages to the executor pool, through ``PoolLike``.

Everything runs on one event loop; ``send`` may be called from other threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections import deque
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, assert_never

import websockets
from websockets.asyncio.client import ClientConnection, connect

from coflux import protocol
from coflux.agent.settings import AgentSettings
from coflux.client import base_url
from coflux.errors import CofluxError

logger = logging.getLogger(__name__)

FATAL_CLOSE_CODES: Mapping[int, str] = {
    protocol.CLOSE_PROTOCOL_MISMATCH: "protocol version mismatch",
    protocol.CLOSE_BAD_HANDSHAKE: "bad handshake",
    protocol.CLOSE_UNKNOWN_PROJECT: "unknown project",
    protocol.CLOSE_UNKNOWN_ENVIRONMENT: "unknown environment",
    protocol.CLOSE_UNAUTHORISED: "unauthorised",
}
HANDSHAKE_TIMEOUT = 10.0
# Seconds between asks, at most, while the owner a server named cannot be reached
# (a takeover is under way): the agent finds the new owner within this of it serving.
MOVED_RETRY_MAX = 1.0
LOG_BUFFER_LIMIT = 10_000  # log entries kept while disconnected; older ones are dropped
LOG_BATCH = 200  # entries per Logs message when flushing the buffer
METRIC_BUFFER_LIMIT = 100_000  # metric points kept while disconnected; older ones are dropped

Targets = dict[str, tuple[str, ...]]
_Key = tuple[str, object]


class ConnectionRejected(CofluxError):
    """The server refused this agent for good (the reconnect loop stops).

    Args:
        code: the WebSocket close code (or HTTP status of a refused upgrade).
        reason: the server's reason, shown to the user as is.
    """

    def __init__(self, code: int, reason: str) -> None:
        what = FATAL_CLOSE_CODES.get(code, f"code {code}")
        super().__init__(f"server refused the agent ({what}): {reason}" if reason else what)
        self.code = code
        self.reason = reason


class PoolLike(Protocol):
    """What the connection needs from the executor pool (a fake in tests)."""

    async def execute(self, command: protocol.Execute) -> None: ...

    def deliver(self, message: protocol.RequestReply) -> None: ...

    async def abort(self, execution_id: str) -> None: ...

    def executing(self) -> set[str]: ...

    def blocked(self) -> set[str]: ...


@dataclass(frozen=True, slots=True)
class Moved:
    """The server closed with ``CLOSE_MOVED``: the project's owner is at ``url``."""

    url: str

    def __str__(self) -> str:
        return f"the project is served by {self.url}"


def agent_url(host: str) -> str:
    url = base_url(host)
    scheme = "wss" if url.startswith("https://") else "ws"
    return f"{scheme}://{url.split('://', 1)[1]}/api/agent"


def _outbox_key(message: protocol.AgentMessage) -> _Key | None:
    """The key under which a message waits for its answer, or None if it expects none."""
    match message:
        case protocol.Complete(execution_id=execution_id):
            return ("complete", execution_id)
        case protocol.Submit(request_id=request_id):
            return ("submit", request_id)
        case protocol.GetResult(request_id=request_id):
            return ("get_result", request_id)
        case (
            protocol.PersistAsset(request_id=request_id)
            | protocol.RestoreAsset(request_id=request_id)
        ):
            return ("asset", request_id)
        case protocol.SubmitInput(request_id=request_id) | protocol.GetInput(request_id=request_id):
            return ("input", request_id)
        case _:
            return None


def _points(message: protocol.Metrics) -> int:
    return sum(len(series.points) for batch in message.executions for series in batch.series)


def format_targets(targets: Targets) -> str:
    return "; ".join(f"{repo}: {', '.join(names)}" for repo, names in targets.items()) or "nothing"


class Connection:
    """A session with the server that survives reconnects.

    Args:
        settings: where to connect and what to announce in ``Hello``.
        targets: the targets hosted at first (``set_targets`` changes them).
    """

    def __init__(
        self, settings: AgentSettings, targets: Mapping[str, tuple[str, ...]] | None = None
    ) -> None:
        self._settings = settings
        self._targets: Targets = dict(targets or {})
        self._session_id: str | None = None
        self._session_secret: str | None = None  # proves the session is ours when resuming
        # The server that owns the project, when the configured one sent us there
        # (CLOSE_MOVED); back to the configured one when it cannot be reached.
        self._moved_to: str | None = None
        self._outstanding: dict[_Key, protocol.AgentMessage] = {}
        self._queued: deque[protocol.AgentMessage] = deque()  # untracked, awaiting a connection
        self._logs: deque[protocol.LogEntry] = deque()
        self._logs_dropped = 0
        self._metrics: deque[protocol.Metrics] = deque()
        self._metric_points = 0  # in ``_metrics``
        self._metrics_dropped = 0
        self._live: asyncio.Queue[protocol.AgentMessage] | None = None  # set while connected
        self._unsent: list[protocol.AgentMessage] = []  # the frame being written
        self._ws: ClientConnection | None = None
        self._stopping = asyncio.Event()
        self._unacked: set[str] = set()  # executions whose Complete awaits its Ack
        self._acked = asyncio.Event()  # set while _unacked is empty
        self._acked.set()
        self._accepting = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._starting: set[str] = set()  # executions handed to the pool, not yet started
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self.connected = asyncio.Event()

    @property
    def session_id(self) -> str | None:
        return self._session_id

    # --- used by the pool and the agent -------------------------------------------

    def send(self, message: protocol.AgentMessage) -> None:
        """Queue a message for the server (thread-safe; never blocks)."""
        if self._loop is not None and threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self._send, message)
        else:
            self._send(message)

    def set_targets(self, targets: Targets) -> None:
        """Replace the hosted targets (sent now if connected, else in the next Hello)."""
        self.send(protocol.Declare(targets=dict(targets)))

    def stop_accepting(self) -> None:
        """Declare no targets, so the server assigns nothing more, and ignore late Executes."""
        self._accepting = False
        self.set_targets({})

    async def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every completion to be acknowledged."""
        if self._acked.is_set():
            return True
        try:
            await asyncio.wait_for(self._acked.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop reconnecting and close the connection; ``run`` then returns."""
        self._stopping.set()
        if self._ws is not None:
            await self._ws.close()

    def _send(self, message: protocol.AgentMessage) -> None:
        key = _outbox_key(message)
        if key is not None:
            self._outstanding[key] = message
            if key[0] == "complete":
                self._unacked.add(str(key[1]))
                self._acked.clear()
        match message:
            case protocol.Declare(targets=targets):
                self._targets = dict(targets)
            case protocol.Logs(entries=entries) if self._live is None:
                self._buffer_logs(entries)
                return
            case protocol.Metrics() if self._live is None:
                self._buffer_metrics(message)
                return
            case protocol.CancelExecution() | protocol.Checkpoint() if self._live is None:
                self._queued.append(message)
                return
            case protocol.Blocked() if self._live is None:
                return  # the next Hello says which executions are blocked
            case protocol.Hello():
                raise ValueError("the connection sends Hello itself")
        # Tracked messages sent while disconnected wait in _outstanding for the resend.
        if self._live is not None:
            self._live.put_nowait(message)

    def _buffer_logs(self, entries: tuple[protocol.LogEntry, ...]) -> None:
        self._logs.extend(entries)
        overflow = len(self._logs) - LOG_BUFFER_LIMIT
        if overflow > 0:
            if not self._logs_dropped:
                logger.warning("disconnected: dropping the oldest buffered log entries")
            for _ in range(overflow):
                self._logs.popleft()
            self._logs_dropped += overflow

    def _buffer_metrics(self, message: protocol.Metrics) -> None:
        self._metrics.append(message)
        self._metric_points += _points(message)
        oldest = 0
        while self._metric_points > METRIC_BUFFER_LIMIT:
            if not self._metrics_dropped:
                logger.warning("disconnected: dropping the oldest buffered metric points")
            # The points go; the definitions stay, or the metrics' later points would
            # name metrics the server never heard of.
            dropped = _points(self._metrics[oldest])
            kept = [b for b in self._metrics[oldest].executions if b.definitions]
            self._metrics[oldest] = protocol.Metrics(
                tuple(protocol.ExecutionMetrics(b.execution_id, b.definitions) for b in kept)
            )
            self._metric_points -= dropped
            self._metrics_dropped += dropped
            oldest += 1

    # --- the connect loop ------------------------------------------------------------

    async def run(self, pool: PoolLike) -> None:
        """Connect, serve, reconnect, until ``close()``.

        Raises:
            ConnectionRejected: the server closed with a fatal code (or refused
                the upgrade with 401/403); the message carries its reason.
        """
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        try:
            await self._reconnect_loop(pool)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _reconnect_loop(self, pool: PoolLike) -> None:
        settings = self._settings
        delay = settings.reconnect_delay_min
        unreachable_owner = settings.reconnect_delay_min  # see the Moved case below
        told_owner = ""  # the owner last logged, so that it is logged once
        failing = False  # so that an outage is logged once, not at every attempt
        while not self._stopping.is_set():
            why: object
            try:
                why = await self._serve_once(pool)
            except (
                OSError,
                TimeoutError,
                websockets.WebSocketException,
                protocol.ProtocolError,
            ) as e:
                why = e
            established = self.connected.is_set()
            self.connected.clear()
            if self._stopping.is_set():
                return
            if established:
                unreachable_owner = settings.reconnect_delay_min
            if isinstance(why, Moved):
                # A server answered where the project is: go there at once.
                if why.url != told_owner:
                    logger.info("the project is served by %s; connecting there", why.url)
                    told_owner = why.url
                self._moved_to = why.url
                delay = settings.reconnect_delay_min
                await self._backoff(delay)
                continue
            if not established and self._moved_to is not None:
                # The owner it named cannot be reached: it died, and its lease has not
                # run out yet. Ask the configured server again, less often each time
                # (up to ``MOVED_RETRY_MAX``), so that the agents of a dead server's
                # projects do not keep the server taking them over busy.
                self._moved_to = None
                await self._backoff(unreachable_owner)
                unreachable_owner = min(MOVED_RETRY_MAX, unreachable_owner * 2)
                continue
            if established:
                logger.warning(
                    "disconnected from %s (session %s): %s; reconnecting",
                    settings.host,
                    self._session_id,
                    why,
                )
                failing, delay = False, settings.reconnect_delay_min
            elif not failing:
                logger.warning("cannot connect to %s (%s); retrying", settings.host, why)
                failing = True
            await self._backoff(delay)
            delay = min(settings.reconnect_delay_max, delay * 2)

    async def _backoff(self, delay: float) -> None:
        # Jitter spreads the reconnects of many agents after a server restart.
        jittered = delay * random.uniform(0.5, 1.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), jittered)

    async def _serve_once(self, pool: PoolLike) -> str | Moved:
        """One connection: handshake, resend, serve until it closes; returns why it
        closed (``Moved``: the project is served by another server)."""
        settings = self._settings
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else None
        try:
            async with connect(
                agent_url(self._moved_to or settings.host),
                additional_headers=headers,
                proxy=None,
                max_size=None,
                # Values above the blob threshold do not travel here; compressing the
                # small messages that do costs more CPU than it saves bytes.
                compression=None,
            ) as ws:
                self._ws = ws
                try:
                    await self._handshake(ws, pool)
                    await self._serve(ws, pool)
                except websockets.ConnectionClosed:
                    pass  # the close code and reason are read below
                finally:
                    self._disconnected()
                self._raise_if_fatal(ws)
                if ws.close_code == protocol.CLOSE_MOVED and ws.close_reason:
                    return Moved(ws.close_reason)
                if ws.close_code == protocol.CLOSE_SESSION_REFUSED:
                    # Our session cannot be resumed (it predates resume secrets):
                    # start a new one; what it held is the server's to abandon.
                    self._session_id = self._session_secret = None
                if ws.close_reason:
                    return ws.close_reason
                return (
                    "connection lost"
                    if ws.close_code in (None, 1006)
                    else f"closed with code {ws.close_code}"
                )
        except websockets.InvalidStatus as e:
            status = e.response.status_code
            if status in (401, 403):
                raise ConnectionRejected(protocol.CLOSE_UNAUTHORISED, f"HTTP {status}") from None
            raise
        finally:
            self._ws = None

    def _raise_if_fatal(self, ws: ClientConnection) -> None:
        code = ws.close_code
        if code is not None and code in FATAL_CLOSE_CODES:
            raise ConnectionRejected(code, ws.close_reason or "")

    async def _handshake(self, ws: ClientConnection, pool: PoolLike) -> None:
        await ws.send(protocol.encode_json(self._hello(pool)), text=True)
        raw = await asyncio.wait_for(ws.recv(), HANDSHAKE_TIMEOUT)
        # The first assignments may share the Welcome's frame: handled once resumed.
        welcome, *following = protocol.decode_server_frame(raw)
        if not isinstance(welcome, protocol.Welcome):
            raise protocol.ProtocolError(f"expected welcome, got {type(welcome).__name__}")
        if self._session_id is not None and not welcome.resumed:
            logger.warning(
                "session %s could not be resumed; new session %s",
                self._session_id,
                welcome.session_id,
            )
        self._session_id = welcome.session_id
        if welcome.session_secret is not None:
            self._session_secret = welcome.session_secret
        s = self._settings
        logger.info(
            "connected to %s as session %s (project %s, environment %s) hosting: %s",
            s.host,
            welcome.session_id,
            s.project,
            s.environment,
            format_targets(self._targets),
        )
        self._resume()
        self.connected.set()
        for message in following:
            self._handle(message, pool)

    def _hello(self, pool: PoolLike) -> protocol.Hello:
        s = self._settings
        return protocol.Hello(
            protocol_version=protocol.PROTOCOL_VERSION,
            project=s.project,
            environment=s.environment,
            session_id=self._session_id,
            session_secret=self._session_secret if self._session_id is not None else None,
            concurrency=s.concurrency,
            provides=dict(s.provides),
            targets=dict(self._targets),
            executing=tuple(sorted(pool.executing() | self._starting | self._unacked)),
            max_executors=s.process_cap,
            blocked=tuple(sorted(pool.blocked())),
            prefetch=s.prefetch,
        )

    def _resume(self) -> None:
        """Open the live queue with everything owed to the server first, in order.

        Synchronous on purpose: nothing can be sent between the resend and
        opening the queue, so no message is lost or sent twice.
        """
        queue: asyncio.Queue[protocol.AgentMessage] = asyncio.Queue()
        for message in self._outstanding.values():
            queue.put_nowait(message)
        while self._queued:
            queue.put_nowait(self._queued.popleft())
        entries = list(self._logs)
        self._logs.clear()
        if self._logs_dropped:
            logger.warning("dropped %d log entries while disconnected", self._logs_dropped)
            self._logs_dropped = 0
        for i in range(0, len(entries), LOG_BATCH):
            queue.put_nowait(protocol.Logs(entries=tuple(entries[i : i + LOG_BATCH])))
        if self._metrics_dropped:
            logger.warning("dropped %d metric points while disconnected", self._metrics_dropped)
            self._metrics_dropped = 0
        while self._metrics:
            queue.put_nowait(self._metrics.popleft())
        self._metric_points = 0
        self._live = queue

    def _disconnected(self) -> None:
        """Keep what the dead connection had not sent yet (tracked ones are resent anyway)."""
        queue, self._live = self._live, None
        unsent, self._unsent = self._unsent, []
        while queue is not None and not queue.empty():
            unsent.append(queue.get_nowait())
        for message in unsent:
            match message:
                case protocol.CancelExecution() | protocol.Checkpoint():
                    self._queued.append(message)
                case protocol.Logs(entries=entries):
                    self._buffer_logs(entries)
                case protocol.Metrics():
                    self._buffer_metrics(message)
                case _:
                    pass  # tracked (still in _outstanding) or superseded by the next Hello

    async def _serve(self, ws: ClientConnection, pool: PoolLike) -> None:
        queue = self._live
        assert queue is not None  # set by _resume in _handshake
        async with asyncio.TaskGroup() as tg:
            writer = tg.create_task(self._write(ws, queue))
            try:
                async for raw in ws:
                    self._receive(raw, pool)
            except websockets.ConnectionClosed:
                pass  # raised inside the group it would come out wrapped in a group
            finally:
                writer.cancel()

    async def _write(
        self, ws: ClientConnection, queue: asyncio.Queue[protocol.AgentMessage]
    ) -> None:
        try:
            while True:
                # Whatever queued up while the last frame was written goes out as one frame.
                messages = self._unsent = [await queue.get()]
                while not queue.empty() and len(messages) < protocol.MAX_FRAME_MESSAGES:
                    messages.append(queue.get_nowait())
                await ws.send(protocol.encode_frame(messages), text=True)
                self._unsent = []
        except websockets.ConnectionClosed:
            return  # the reader sees the close too, and ends this connection

    # --- dispatch ------------------------------------------------------------------

    def _receive(self, raw: str | bytes, pool: PoolLike) -> None:
        try:
            messages = protocol.decode_server_frame(raw)
        except protocol.ProtocolError as e:
            logger.error("ignoring an undecodable frame from the server: %s", e)
            return
        for message in messages:
            self._handle(message, pool)

    def _handle(self, message: protocol.ServerMessage, pool: PoolLike) -> None:
        try:
            self._dispatch(message, pool)
        except Exception:
            # A bug in the pool must not take the session down with it.
            logger.exception("failed handling %s from the server", type(message).__name__)

    def _dispatch(self, message: protocol.ServerMessage, pool: PoolLike) -> None:
        match message:
            case protocol.Execute():
                self._execute(message, pool)
            case protocol.Abort(execution_id=execution_id):
                self._spawn(pool.abort(execution_id), f"abort of {execution_id}")
            case protocol.Submitted(request_id=request_id, execution_id=execution_id):
                # Only the first answer counts: a resend can be answered twice.
                submit = self._outstanding.pop(("submit", request_id), None)
                if submit is not None:
                    assert isinstance(submit, protocol.Submit)
                    if execution_id is not None:  # accepted: its outcome follows
                        self._outstanding[("get_result", request_id)] = protocol.GetResult(
                            request_id, execution_id, submit.parent_execution_id
                        )
                    pool.deliver(message)
            case protocol.ResultReady(request_id=request_id):
                if self._outstanding.pop(("get_result", request_id), None) is not None:
                    pool.deliver(message)
            case protocol.AssetReply(request_id=request_id):
                if self._outstanding.pop(("asset", request_id), None) is not None:
                    pool.deliver(message)
            case protocol.InputReply(request_id=request_id):
                if self._outstanding.pop(("input", request_id), None) is not None:
                    pool.deliver(message)
            case protocol.Ack(execution_ids=execution_ids):
                for execution_id in execution_ids:
                    self._outstanding.pop(("complete", execution_id), None)
                    self._unacked.discard(execution_id)
                if not self._unacked:
                    self._acked.set()
            case protocol.Welcome():
                logger.warning("ignoring an unexpected welcome (session %s)", message.session_id)
            case _:
                assert_never(message)

    def _execute(self, command: protocol.Execute, pool: PoolLike) -> None:
        execution_id = command.execution_id
        if not self._accepting:
            logger.warning("stopping: not starting execution %s", execution_id)
        elif (
            execution_id in self._starting
            or execution_id in pool.executing()
            or execution_id in self._unacked
        ):
            logger.debug("execution %s is already held; ignoring a repeated execute", execution_id)
        else:
            # Until the pool's task runs, only this set knows the execution is held.
            self._starting.add(execution_id)
            task = self._spawn(pool.execute(command), f"execution {execution_id}")
            task.add_done_callback(lambda _: self._starting.discard(execution_id))

    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        # Pool calls run as tasks so that a slow one never stalls the reader
        # (which must keep delivering results to other executions meanwhile).
        task = asyncio.create_task(self._guard(coro, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await coro
        except Exception:
            logger.exception("pool failed handling %s", what)
