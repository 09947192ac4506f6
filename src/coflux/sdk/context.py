"""The current execution context: how calls inside an execution reach the agent.

The executor process activates one ``ExecutionContext`` per execution in a
``ContextVar`` (never a module global, so that threads and tasks started by user
code with a copied context see the right one, and nothing leaks between
executions). The context turns target calls into ``protocol.Submit`` requests
(the server answers each twice: ``Submitted`` with the execution's id, then
``ResultReady`` once it has an outcome), asks for other executions' results with
``protocol.GetResult``, and sends log entries and (through its
``coflux.sdk.recorder``) metrics. It talks to the agent through a ``Channel``,
which the executor implements over its socket (and tests can fake).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any, Protocol

from coflux import errors, protocol
from coflux.sdk.handles import Execution
from coflux.sdk.recorder import MetricRecorder
from coflux.serialization import ValueCodec, log_value

__all__ = [
    "Channel",
    "ExecutionContext",
    "PendingReply",
    "Suspension",
    "activate",
    "current",
    "require",
    "reset",
]

Reply = protocol.Submitted | protocol.ResultReady | protocol.AssetReply | protocol.InputReply
Request = (
    protocol.Submit
    | protocol.GetResult
    | protocol.PersistAsset
    | protocol.RestoreAsset
    | protocol.SubmitInput
    | protocol.GetInput
)


class PendingReply(Protocol):
    """A request that was sent; its reply arrives later."""

    def wait(self, timeout: float | None) -> Reply | None:
        """Block until the reply arrives; ``None`` when ``timeout`` elapsed first.

        Raises:
            ConnectionError: the channel closed before the reply arrived.
        """
        ...

    def when_settled(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the reply arrived or the channel closed (now if so)."""
        ...


class Channel(Protocol):
    """The executor's connection to the agent, as the context sees it."""

    def send(self, message: protocol.ExecutorMessage) -> None: ...

    def request(self, make: Callable[[int], Request]) -> PendingReply:
        """Send the message ``make(request_id)`` and return its pending reply."""
        ...

    def submit(self, make: Callable[[int], protocol.Submit]) -> tuple[PendingReply, PendingReply]:
        """Send the submission ``make(request_id)``; its two pending replies:
        ``Submitted``, then ``ResultReady`` (unless the submission was refused)."""
        ...

    def blocked_while(self, wait: Callable[[], bool]) -> bool:
        """Run ``wait`` (a long wait for replies, ``cf.select``'s), reporting the
        execution blocked meanwhile; returns what ``wait`` returned."""
        ...


class ExecutionContext:
    """Everything an execution needs to call targets and log.

    Args:
        execution_id: the id of the running execution.
        channel: the connection to the agent.
        values: serialises arguments and results (default: everything inline).
        working_dir: the execution's working directory (default: the current one),
            where assets are persisted from and restored to.
    """

    def __init__(
        self,
        execution_id: str,
        channel: Channel,
        *,
        values: ValueCodec | None = None,
        working_dir: Path | None = None,
    ) -> None:
        self.execution_id = execution_id
        self._channel = channel
        # How values are (de)serialised: through the blob store when the agent has one.
        self.values = values or ValueCodec()
        self.working_dir = working_dir or Path.cwd()
        # Calls are numbered from 0 per execution; the server de-duplicates on
        # (execution, call_index) when a submission is resent after a reconnect.
        self._call_index = itertools.count()
        self._lock = threading.Lock()
        self._results: dict[str, PendingReply] = {}
        self._responses: dict[str, PendingReply] = {}  # input id -> the reply with its response
        self._groups = itertools.count()  # ``cf.group`` blocks, numbered per execution
        self._started = time.perf_counter()  # metrics' default x counts from here
        self._metrics: MetricRecorder | None = None  # made by the first point recorded

    def submit(
        self,
        *,
        repository: str,
        target: str,
        type: protocol.TargetType,
        options: protocol.TargetOptions,
        arguments: Sequence[Any],
    ) -> Execution[Any]:
        """Schedule a call of a target as a step and return its handle at once.

        The submission is not waited for, so that many can be in flight together;
        the handle's ``id`` (and so ``result()``) waits for the server's reply.
        """
        values = tuple(self.values.dump(argument) for argument in arguments)
        with self._lock:
            call_index = next(self._call_index)
        submitted, outcome = self._channel.submit(
            lambda request_id: protocol.Submit(
                request_id=request_id,
                parent_execution_id=self.execution_id,
                call_index=call_index,
                repository=repository,
                target=target,
                type=type,
                arguments=values,
                options=options,
                group=_group.get(),
            )
        )

        def execution_id() -> str:
            reply = submitted.wait(None)
            if not isinstance(reply, protocol.Submitted):
                raise RuntimeError(f"expected a Submitted reply, got {reply!r}")
            if reply.error is not None:
                error = reply.error
                raise errors.rebuild_remote_error(error.type, error.message, error.traceback)
            if reply.execution_id is None:
                raise RuntimeError(f"submission of {repository}:{target} returned no execution")
            with self._lock:  # its outcome is on its way: no need to ask for it
                self._results.setdefault(reply.execution_id, outcome)
            return reply.execution_id

        return Execution(execution_id, self, repository=repository, target=target)

    def result(self, execution_id: str, timeout: float | None) -> Any:
        """Wait for an execution's outcome (the ``ExecutionBackend`` interface).

        Raises:
            TimeoutError: ``timeout`` elapsed first (the request stays pending,
                so a later call resumes waiting for the same reply).
            Exception: the execution failed, was cancelled or abandoned.
        """
        pending = self._pending(execution_id)
        reply = _wait(pending, timeout, lambda: Suspension(waiting_for=(execution_id,)))
        if reply is None:
            raise TimeoutError(f"execution {execution_id} did not finish within {timeout} s")
        if not isinstance(reply, protocol.ResultReady):
            raise RuntimeError(f"expected a ResultReady reply, got {reply!r}")
        return self._unwrap(execution_id, reply.outcome)

    def _pending(self, execution_id: str) -> PendingReply:
        """The reply that brings an execution's outcome (asked for once)."""
        return self._ask_once(
            self._results,
            execution_id,
            lambda request_id: protocol.GetResult(
                request_id=request_id,
                execution_id=execution_id,
                from_execution_id=self.execution_id,
            ),
        )

    def _ask_once(
        self, replies: dict[str, PendingReply], key: str, make: Callable[[int], Request]
    ) -> PendingReply:
        """The reply awaited for ``key`` in ``replies``, the request made if none is."""
        with self._lock:
            pending = replies.get(key)
            if pending is None:
                pending = replies[key] = self._channel.request(make)
        return pending

    def first_resolved(self, execution_ids: Sequence[str], timeout: float | None) -> int | None:
        """Wait until one of the executions has its outcome (``cf.select``).

        Returns:
            The position in ``execution_ids`` of the first one with an outcome
            (the earliest position if several have one), or None when
            ``timeout`` elapsed first.
        """
        ready = threading.Event()
        pendings = [self._pending(execution_id) for execution_id in execution_ids]
        for pending in pendings:
            pending.when_settled(ready.set)
        while True:
            for position, pending in enumerate(pendings):
                if pending.wait(0) is not None:
                    return position
            # Blocked like a long ``.result()``: the agent may run others meanwhile.
            if not self._channel.blocked_while(lambda: ready.wait(timeout)):
                return None
            ready.clear()

    @contextlib.contextmanager
    def group(self, name: str | None) -> Iterator[None]:
        """Within the block, this execution's calls belong to one new group."""
        with self._lock:
            index = next(self._groups)
        token = _group.set(protocol.Group(index=index, name=name))
        try:
            yield
        finally:
            _group.reset(token)

    def _unwrap(self, execution_id: str, outcome: protocol.Outcome) -> Any:
        match outcome:
            case protocol.Succeeded(value=value):
                return self.values.load(value, resolve_execution=self.handle)
            case protocol.Failed(error=error):
                raise errors.rebuild_remote_error(error.type, error.message, error.traceback)
            case protocol.Cancelled():
                raise errors.ExecutionCancelled(f"execution {execution_id} was cancelled")
            case protocol.Abandoned():
                raise errors.ExecutionAbandoned(f"execution {execution_id} was abandoned")
            case protocol.TimedOut(timeout=timeout):
                raise errors.ExecutionTimeout(
                    f"execution {execution_id} timed out (after {timeout:g} s)"
                )

    def cancel(self, execution_id: str) -> None:
        """Ask the server to cancel an execution."""
        self._channel.send(
            protocol.CancelExecution(execution_id=execution_id, from_execution_id=self.execution_id)
        )

    def checkpoint(self, arguments: Sequence[Any]) -> None:
        """Record the arguments this (sensor) execution restarts with."""
        values = tuple(self.values.dump(argument) for argument in arguments)
        self._channel.send(protocol.Checkpoint(execution_id=self.execution_id, arguments=values))

    def handle(self, execution_id: str) -> Execution[Any]:
        """A handle bound to this context (used when deserialising values)."""
        return Execution(execution_id, self)

    def log(self, level: protocol.LogLevel, template: str, values: Mapping[str, Any]) -> None:
        """Send one structured log entry for this execution."""
        entry = protocol.LogEntry(
            execution_id=self.execution_id,
            timestamp=time.time(),
            level=level,
            template=template,
            values={
                name: log_value(value, allow_pickle=self.values.allow_pickle)
                for name, value in values.items()
            },
        )
        self._channel.send(protocol.LogMessage(entry=entry))

    @property
    def metrics(self) -> MetricRecorder:
        """This execution's metrics (``cf.Metric.record`` records through it)."""
        recorder = self._metrics
        if recorder is None:
            with self._lock:
                recorder = self._metrics
                if recorder is None:
                    recorder = self._metrics = MetricRecorder(
                        self.execution_id,
                        self._channel.send,
                        lambda warning: self.log("warning", warning, {}),
                        started=self._started,
                    )
        return recorder

    def close(self) -> None:
        """The execution ended: send what it recorded and has not sent yet (before
        its completion, so that it reaches the server first)."""
        if self._metrics is not None:
            self._metrics.close()

    def submit_input(self, request: Callable[[int], protocol.SubmitInput]) -> str:
        """Ask for input (``cf.Prompt.submit``, ``coflux.sdk.inputs``); returns the
        input's id (the run's input of the same key, if it has one).

        Raises:
            Exception: the server refused the prompt (rebuilt from its error).
        """
        pending = self._channel.request(request)
        reply = pending.wait(None)
        if not isinstance(reply, protocol.InputReply):
            raise RuntimeError(f"expected an InputReply, got {reply!r}")
        if reply.error is not None or reply.input_id is None:
            error = reply.error or protocol.ErrorInfo("RuntimeError", "no input was made")
            raise errors.rebuild_remote_error(error.type, error.message, error.traceback)
        if reply.response is not None:  # settled already: this reply carries the response
            with self._lock:
                self._responses.setdefault(reply.input_id, pending)
        return reply.input_id

    def input_response(self, input_id: str, timeout: float | None) -> protocol.InputResponse:
        """Wait for an input's response, as ``result`` waits for an execution's outcome
        (inside ``cf.suspense``, suspending instead of waiting past its limit).

        Raises:
            TimeoutError: ``timeout`` elapsed first (the request stays pending).
            Exception: the server could not give it (an unknown input, say).
        """
        pending = self._ask_once(
            self._responses,
            input_id,
            lambda request_id: protocol.GetInput(
                request_id=request_id,
                input_id=input_id,
                from_execution_id=self.execution_id,
            ),
        )
        reply = _wait(pending, timeout, lambda: Suspension(waiting_for_inputs=(input_id,)))
        if reply is None:
            raise TimeoutError(f"input {input_id} was not answered within {timeout} s")
        if not isinstance(reply, protocol.InputReply):
            raise RuntimeError(f"expected an InputReply, got {reply!r}")
        if reply.response is None:
            with self._lock:  # not answered: a later wait asks again
                self._responses.pop(input_id, None)
            error = reply.error or protocol.ErrorInfo("RuntimeError", "no response was given")
            raise errors.rebuild_remote_error(error.type, error.message, error.traceback)
        return reply.response

    def asset_request(
        self, make: Callable[[int], protocol.PersistAsset | protocol.RestoreAsset]
    ) -> protocol.AssetReply:
        """Send an asset request (see ``coflux.sdk.assets``) and wait for its answer."""
        reply = self._channel.request(make).wait(None)
        if not isinstance(reply, protocol.AssetReply):
            raise RuntimeError(f"expected an AssetReply, got {reply!r}")
        return reply


class Suspension(BaseException):
    """Ends the running execution to run it again later (``cf.suspend``/``cf.suspense``).

    A ``BaseException``, so that user code catching ``Exception`` cannot swallow it;
    the executor reports it as a ``protocol.Suspended`` outcome.
    """

    def __init__(
        self,
        *,
        due_at: float | None = None,
        waiting_for: tuple[str, ...] = (),
        waiting_for_inputs: tuple[str, ...] = (),
    ) -> None:
        super().__init__("execution suspended")
        self.due_at = due_at
        self.waiting_for = waiting_for
        self.waiting_for_inputs = waiting_for_inputs


def _wait(
    pending: PendingReply, timeout: float | None, suspension: Callable[[], Suspension]
) -> Reply | None:
    """``pending``'s reply, or None after ``timeout``. Inside ``cf.suspense`` with no
    timeout: rather than wait longer than its limit, end this execution
    (``suspension``); it runs again once what it waits for exists."""
    limit = _suspense.get()
    if timeout is None and limit is not None:
        reply = pending.wait(limit)
        if reply is None:
            raise suspension()
        return reply
    return pending.wait(timeout)


_current: ContextVar[ExecutionContext | None] = ContextVar("coflux_execution", default=None)
# The ``cf.group`` calls are made in now (None: no group).
_group: ContextVar[protocol.Group | None] = ContextVar("coflux_group", default=None)
# Seconds a ``.result()`` may wait inside ``cf.suspense`` before suspending.
_suspense: ContextVar[float | None] = ContextVar("coflux_suspense", default=None)


@contextlib.contextmanager
def suspense(limit: float) -> Iterator[None]:
    """Within the block, a ``.result()`` that waits longer than ``limit`` suspends."""
    token = _suspense.set(limit)
    try:
        yield
    finally:
        _suspense.reset(token)


def current() -> ExecutionContext | None:
    """The context of the execution running here, or ``None`` outside one."""
    return _current.get()


def require(action: str) -> ExecutionContext:
    """The current context, for an operation that only makes sense inside one.

    Args:
        action: what the caller was doing, for the error message.

    Raises:
        RuntimeError: not inside an execution.
    """
    context = _current.get()
    if context is None:
        raise RuntimeError(f"{action} is only possible inside a Coflux execution")
    return context


def activate(context: ExecutionContext) -> Token[ExecutionContext | None]:
    """Make ``context`` current; pass the token to ``reset`` afterwards."""
    return _current.set(context)


def reset(token: Token[ExecutionContext | None]) -> None:
    """Restore the context that was current before ``activate``."""
    _current.reset(token)
