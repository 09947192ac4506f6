"""The executor pool: warm executor processes, each running one execution at a time.

The agent owns one ``Pool``. It owns the set of executors: which one runs an
execution, when to start, replace and retire them, and all traffic between
them and the agent's connection. Each process itself (its socket, its output,
its exit, its working directory) is an ``ExecutorProcess``
(``coflux.agent.executors``).

Executors (``coflux.agent.executor``) are started ahead of time with the
repositories imported, so starting an execution costs a message. The pool keeps
``warm`` idle, ready executors at all times (2 by default, so that a workflow
and the first task it calls both start on a warm process), but never more
executors in total than the server may ask it to run at once (``concurrency``,
plus the executions it has reported blocked, within ``max_executors``): taking an
idle executor starts a replacement in the background. By default an executor is
reused for the next execution (the executor resets cwd, environment and context
in between); with ``isolate=True`` each executor runs one execution and is replaced.

Prefetch: the server may assign ``prefetch`` executions beyond ``concurrency``
(``protocol.Hello``). The pool itself keeps ``concurrency``: an execution starts
only while fewer than that run here (blocked ones not counted, as the executors
report them), and the rest wait in the order they came, each started as soon as
a running one ends or blocks, without a round trip to the server.

Blocked executions: an executor reports when its execution starts and stops
waiting for a result (``Blocked``; only waits of more than a few ms). The server
counts only executions that are not blocked against ``concurrency``, so the pool
passes a report on only while that count matters: when the executions it holds,
less those already reported blocked, fill ``concurrency``. Until then the server
has free slots anyway, and a chain of steps that each wait on the previous one
costs no message at all. An execution that resumes after it was reported is
reported resumed at once; one that ends needs nothing (it leaves the count).

The pool is the executors' only link to the agent's connection, through the
``send`` callable it is given:

* ``Submit``/``GetResult``/``PersistAsset``/``RestoreAsset`` from an executor
  are forwarded with ``request_id`` rewritten to a pool-wide counter;
  ``deliver`` routes the server's replies back (a submission's two: ``Submitted``
  and later ``ResultReady``). An execution's routes go when it ends.
* ``Complete`` is forwarded once the execution's output has been read (the
  executor writes an end marker to stdout and stderr before sending it).
* ``LogMessage`` entries and stdout/stderr lines become batched ``Logs``, and
  ``Metrics`` from executors batched ``Metrics`` (``coflux.agent.batcher``),
  sent before the completion of the executions they are about.

User code is never trusted: an executor that dies mid-execution is reported as
``coflux.ExecutorDied`` and replaced; ``abort`` terminates (then kills) the
process and reports nothing; every executor's working directory is removed when
it exits, however it exits.

Timeouts (``Execute.timeout``) are enforced here, where the process is: the
deadline starts when an executor takes the execution; past it the execution
is reported ``TimedOut`` at once and its process stopped as for ``abort``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import shutil
import signal
import tempfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from coflux import protocol
from coflux.agent.batcher import Batcher
from coflux.agent.blobs import BlobSettings
from coflux.agent.executors import ExecutorProcess, ExecutorStartError

__all__ = ["ExecutorSnapshot", "ExecutorStartError", "Pool"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecutorSnapshot:
    """One executor as ``Pool.snapshot`` saw it (read-only, for tests and diagnostics)."""

    number: int
    pid: int
    ready_at: float | None  # time.monotonic() when it became ready; None while starting
    execution_id: str | None
    idle: bool
    blocked: bool = False  # its execution waits for a result (as it reported)


class Pool:
    """Warm executor processes for the repositories an agent hosts.

    Args:
        repositories: repository specs (``hello.py`` or ``pkg.flows``).
        concurrency: the most executions run at once (not counting blocked ones).
        prefetch: how many more the server may assign, to wait here for a slot.
        isolate: give each execution a fresh process.
        send: sends a message to the server (through the agent's connection).
        warm: how many idle, ready executors to keep at all times (within
            ``concurrency`` in total). Two, so that a workflow and the task it
            calls first both start without waiting for a process to start.
        abort_grace: seconds between SIGTERM and SIGKILL when aborting.
        blobs: how executors reach the blob store; ``None`` keeps values inline.
        max_executors: the most executors alive, blocked executions' included
            (default: ``concurrency``); the agent declares the same to the server.
        pickle: False starts executors with ``--no-pickle``.
    """

    def __init__(
        self,
        repositories: list[str],
        *,
        concurrency: int,
        prefetch: int = 0,
        isolate: bool,
        send: Callable[[protocol.AgentMessage], None],
        warm: int = 2,
        abort_grace: float = 5.0,
        blobs: BlobSettings | None = None,
        max_executors: int | None = None,
        pickle: bool = True,
    ) -> None:
        if concurrency < 1 or warm < 0:
            raise ValueError(f"need concurrency >= 1 and warm >= 0 (got {concurrency}, {warm})")
        if max_executors is not None and max_executors < concurrency:
            raise ValueError(f"need max_executors >= concurrency (got {max_executors})")
        self._repositories = list(repositories)
        self._concurrency = concurrency
        self._prefetch = prefetch
        self._max_executors = max_executors or concurrency
        self._isolate = isolate
        self._send = send
        self._warm = warm
        self._abort_grace = abort_grace
        self._blobs = blobs
        self._options = [
            *(blobs.executor_args() if blobs else ()),
            *([] if pickle else ["--no-pickle"]),
        ]
        self._batcher = Batcher(send)
        self._root: Path | None = None
        self._numbers = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._generation = 0
        self._executors: set[ExecutorProcess] = set()
        self._idle: list[ExecutorProcess] = []  # picked from the end
        self._starting = 0
        self._by_execution: dict[str, ExecutorProcess] = {}
        self._waiting: set[str] = set()  # executions waiting for a slot or an executor
        self._admitted = 0  # of them, those given a slot, still waiting for an executor
        self._blocked: set[str] = set()  # executions their executors report blocked
        self._reported: set[str] = set()  # those of them the server was told of
        self._aborted_early: set[str] = set()
        self._deadlines: dict[str, asyncio.TimerHandle] = {}  # executions with a timeout
        # Pool-wide request id -> the executor that made the request, and its own id.
        self._requests: dict[int, tuple[ExecutorProcess, int]] = {}
        self._routes: dict[ExecutorProcess, set[int]] = {}  # the same, by executor
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wakeup = asyncio.Event()
        self._start_failure: ExecutorStartError | None = None
        self._failure_said: str | None = None  # the start failure last logged
        self._stopping = False

    # --- public interface -----------------------------------------------------

    async def start(self) -> list[protocol.Manifest]:
        """Start the warm executors.

        Returns:
            The manifests reported by the first executor.

        Raises:
            ExecutorStartError: the repositories could not be imported (the
                message includes the import traceback).
        """
        self._root = Path(tempfile.mkdtemp(prefix="coflux-pool-"))
        count = max(1, min(self._warm, self._max_executors))
        results = await asyncio.gather(
            *(self._launch() for _ in range(count)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                await self.stop(0)
                raise result
        return list(results[0])  # type: ignore[arg-type]

    async def execute(self, command: protocol.Execute) -> None:
        """Hand an execution to an idle executor (starting one if needed).

        Returns once the execution has started; its outcome is sent as
        ``Complete``. If no executor can be started, a failed ``Complete``
        (``coflux.ExecutorFailed``) is sent instead.

        Args:
            command: the execution, as the server assigned it.
        """
        execution_id = command.execution_id
        self._waiting.add(execution_id)
        self._report_blocked()  # held one more: the server's count may matter now
        admitted = False
        try:
            admitted = await self._admit(execution_id)
            if not admitted:
                return
            executor = await self._acquire()
        except ExecutorStartError as e:
            if not self._stopping and execution_id not in self._aborted_early:
                self._fail(execution_id, "coflux.ExecutorFailed", str(e))
            return
        finally:
            self._waiting.discard(execution_id)
            if admitted:
                self._admitted -= 1
            elif execution_id in self._aborted_early:
                self._aborted_early.discard(execution_id)
        if execution_id in self._aborted_early:
            self._aborted_early.discard(execution_id)
            self._make_idle(executor, used=True)
            return
        self._by_execution[execution_id] = executor
        logger.debug("execution %s -> executor %d", execution_id, executor.number)
        executor.begin(command)
        if command.timeout > 0:
            self._deadlines[execution_id] = asyncio.get_running_loop().call_later(
                command.timeout, self._time_out, execution_id, command.timeout
            )
        self._top_up()  # replace the spare just taken, before the next request needs it

    async def _admit(self, execution_id: str) -> bool:
        """Wait for a slot: until fewer than ``concurrency`` executions run here
        (prefetched ones wait here; without prefetch there always is one).

        Returns:
            True with the slot taken (``_admitted``), False if the execution was
            aborted while it waited.
        """
        while self._running() >= self._concurrency:
            if self._stopping:
                raise ExecutorStartError("the executor pool is stopping")
            if execution_id in self._aborted_early:
                return False
            await self._wakeup.wait()
        if execution_id in self._aborted_early:
            return False
        self._admitted += 1
        return True

    def _running(self) -> int:
        """Executions that hold a slot: started and not blocked, or about to start."""
        return len(self._by_execution) - len(self._blocked) + self._admitted

    def deliver(self, message: protocol.RequestReply) -> None:
        """Route a reply from the server to the executor that made the request.

        Args:
            message: the reply; its ``request_id`` is one this pool sent.
        """
        request_id = message.request_id
        route = self._requests.get(request_id)
        if route is None:
            logger.debug("no executor waits for request %d (dropped)", request_id)
            return
        executor, local_id = route
        if not (isinstance(message, protocol.Submitted) and message.execution_id is not None):
            del self._requests[request_id]  # the last reply to this request
            self._routes.get(executor, set()).discard(request_id)
        executor.write(msgspec.structs.replace(message, request_id=local_id))

    async def abort(self, execution_id: str) -> None:
        """Stop an execution: SIGTERM, then SIGKILL after the grace period.

        The execution reports nothing further (not even its output).

        Args:
            execution_id: the execution; unknown ids are ignored.
        """
        if execution_id in self._waiting:
            self._aborted_early.add(execution_id)
            self._notify()  # one waiting for a slot stops waiting
            return
        executor = self._detach(execution_id)
        if executor is None:
            logger.debug("abort of %s: not running here", execution_id)
            return
        logger.info("aborting execution %s (executor %d)", execution_id, executor.number)
        await executor.terminate(self._abort_grace)

    def _detach(self, execution_id: str) -> ExecutorProcess | None:
        """Take a running execution from its executor, which will not serve again."""
        self._forget_deadline(execution_id)
        executor = self._by_execution.pop(execution_id, None)
        if executor is None:
            return None
        executor.execution_id = None
        self._unblock(execution_id)
        self._forget_requests(executor)
        executor.retiring = True
        self._notify()  # its slot is free for an execution waiting here
        return executor

    def _time_out(self, execution_id: str, timeout: float) -> None:
        """The execution ran past its timeout: report it so, then stop its process."""
        executor = self._detach(execution_id)
        if executor is None:
            return
        logger.info("execution %s timed out after %s s; stopping it", execution_id, timeout)
        self._batcher.flush()
        self._send(
            protocol.Complete(execution_id=execution_id, outcome=protocol.TimedOut(timeout=timeout))
        )
        self._track(executor.terminate(self._abort_grace), f"time-out-{execution_id}")

    def _forget_deadline(self, execution_id: str) -> None:
        deadline = self._deadlines.pop(execution_id, None)
        if deadline is not None:
            deadline.cancel()

    async def reload(self) -> list[protocol.Manifest]:
        """Switch to freshly imported code (for ``--watch``).

        Idle executors stop now; busy ones stop after their current execution.

        Returns:
            The manifests of the new code.

        Raises:
            ExecutorStartError: the new code does not import; the pool keeps
                serving the code it had.
        """
        generation = self._generation + 1
        self._starting += 1
        try:
            executor, manifests = await self._start(generation)
        finally:
            self._starting -= 1
        self._generation = generation
        for old in list(self._idle):
            self._retire(old)
        logger.info("reloaded code (generation %d)", generation)
        self._make_idle(executor)
        self._top_up()  # the new code gets its spares too, not just the one started here
        return list(manifests)

    async def stop(self, grace: float) -> None:
        """Let running executions finish for up to ``grace`` seconds, then kill.

        Executions killed here report nothing (the server abandons them).

        Args:
            grace: seconds to wait for running executions.
        """
        self._stopping = True
        self._notify()
        for executor in list(self._idle):
            self._retire(executor)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self._by_execution and loop.time() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), deadline - loop.time())
        self._by_execution.clear()
        for timer in self._deadlines.values():
            timer.cancel()
        self._deadlines.clear()
        for executor in list(self._executors):
            if executor.execution_id is not None or not executor.is_ready:
                executor.execution_id = None  # still running after the grace, or starting
                executor.signal(signal.SIGKILL)
        # Retired executors exit by themselves once their socket closes; the
        # rest were killed. Either way their supervisors end soon: bounded.
        await self._wait_for_tasks(2.0)
        for executor in list(self._executors):
            executor.signal(signal.SIGKILL)
        await self._wait_for_tasks(2.0, cancel=True)
        self._batcher.flush()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    def executing(self) -> set[str]:
        """The executions this pool holds (running, or waiting for an executor)."""
        return set(self._by_execution) | self._waiting

    def blocked(self) -> set[str]:
        """The held executions the server has been told are blocked (for ``Hello``)."""
        return set(self._reported)

    def snapshot(self) -> list[ExecutorSnapshot]:
        """The executor processes alive now, starting or ready, by number.

        Read-only; for tests and diagnostics.
        """
        return [
            ExecutorSnapshot(
                number=e.number,
                pid=e.pid,
                ready_at=e.ready_at,
                execution_id=e.execution_id,
                idle=e in self._idle,
                blocked=e.execution_id in self._blocked,
            )
            for e in sorted(self._executors, key=lambda e: e.number)
        ]

    # --- starting executors ---------------------------------------------------

    def _launch(self) -> asyncio.Task[tuple[protocol.Manifest, ...]]:
        """Start an executor in the background; it joins the idle ones when ready."""
        self._starting += 1  # counted now, so concurrent callers don't over-start

        async def warm() -> tuple[protocol.Manifest, ...]:
            try:
                executor, manifests = await self._start(self._generation)
            finally:
                self._starting -= 1
            self._make_idle(executor)
            return manifests

        return self._track(warm(), "warm executor")

    async def _start(
        self, generation: int
    ) -> tuple[ExecutorProcess, tuple[protocol.Manifest, ...]]:
        if self._stopping or self._root is None:
            raise ExecutorStartError("the executor pool is stopping")
        number = next(self._numbers)
        executor = await ExecutorProcess.spawn(
            number=number,
            generation=generation,
            repositories=self._repositories,
            workdir=self._root / f"executor-{number}",
            on_log=self._batcher.add,
            options=self._options,
            env=self._blobs.executor_env() if self._blobs else None,
        )
        self._executors.add(executor)
        self._track(self._supervise(executor), f"executor {number}")
        if self._stopping:  # stop() began while it was spawning: it found nothing to kill
            executor.signal(signal.SIGKILL)
        manifests = await executor.wait_ready()
        self._failure_said = None  # the code imports again: a new failure is news
        return executor, manifests

    # --- executor lifecycle ---------------------------------------------------

    async def _acquire(self) -> ExecutorProcess:
        failure = self._start_failure
        while True:
            if self._stopping:
                raise ExecutorStartError("the executor pool is stopping")
            if self._idle:
                return self._idle.pop()
            if self._start_failure is not failure and self._starting == 0:
                raise self._start_failure  # type: ignore[misc]
            if self._starting == 0 and self._alive() < self._max_executors:
                self._launch()
            await self._wakeup.wait()

    def _alive(self) -> int:
        """Executors that are or will be available for work (busy, idle or starting)."""
        return self._starting + sum(1 for e in self._executors if e.is_ready and not e.retiring)

    def _top_up(self) -> None:
        """Start executors until ``warm`` are idle or starting, within what the
        server may assign at once: ``concurrency`` and the executions reported
        blocked, at most ``max_executors``.

        Executors cost memory, so spares beyond that would never all be used.
        """
        limit = min(self._max_executors, self._concurrency + len(self._reported))
        while (
            not self._stopping
            and len(self._idle) + self._starting < self._warm
            and self._alive() < limit
        ):
            self._launch()

    def _make_idle(self, executor: ExecutorProcess, *, used: bool = False) -> None:
        if self._stopping or executor.generation != self._generation or executor.retiring:
            self._retire(executor)
        elif used:
            self._idle.append(executor)  # picked next: reuse a process that is in use
        else:
            self._idle.insert(0, executor)  # a fresh spare waits at the front
        self._notify()

    def _retire(self, executor: ExecutorProcess) -> None:
        """Stop an executor that is not running anything: closing its socket ends it."""
        self._forget_idle(executor)
        executor.close()

    def _forget_idle(self, executor: ExecutorProcess) -> None:
        executor.retiring = True
        if executor in self._idle:
            self._idle.remove(executor)

    async def _supervise(self, executor: ExecutorProcess) -> None:
        try:
            await executor.run(
                lambda message: self._handle(executor, message),
                # The socket closed, so the process is ending: never hand it work.
                closing=lambda: self._forget_idle(executor),
                grace=self._abort_grace,
            )
        finally:
            self._exited(executor)

    def _exited(self, executor: ExecutorProcess) -> None:
        self._executors.discard(executor)
        if executor in self._idle:
            self._idle.remove(executor)
        execution_id = executor.execution_id
        if execution_id is not None:
            description = executor.exit_description()
            executor.execution_id = None
            self._by_execution.pop(execution_id, None)
            self._forget_deadline(execution_id)
            self._unblock(execution_id)
            logger.warning("execution %s: %s", execution_id, description)
            self._fail(execution_id, "coflux.ExecutorDied", description)
        self._forget_requests(executor)
        self._notify()
        if executor.is_ready:  # a start failure must not start another one, forever
            self._top_up()

    # --- messages from executors ------------------------------------------------

    async def _handle(self, executor: ExecutorProcess, message: protocol.ExecutorMessage) -> None:
        match message:
            case (
                protocol.Submit()
                | protocol.GetResult()
                | protocol.PersistAsset()
                | protocol.RestoreAsset()
                | protocol.SubmitInput()
                | protocol.GetInput()
            ):
                if executor.execution_id is not None:
                    request_id = next(self._request_ids)
                    self._requests[request_id] = (executor, message.request_id)
                    self._routes.setdefault(executor, set()).add(request_id)
                    self._send(msgspec.structs.replace(message, request_id=request_id))
            case protocol.CancelExecution() | protocol.Checkpoint():
                if executor.execution_id is not None:
                    self._send(message)
            case protocol.Blocked(execution_id=execution_id, blocked=blocked):
                if execution_id == executor.execution_id:
                    self._set_blocked(execution_id, blocked)
            case protocol.LogMessage(entry=entry):
                if entry.execution_id == executor.execution_id:
                    self._batcher.add(entry)
            case protocol.Metrics(executions=batches):
                for batch in batches:
                    if batch.execution_id == executor.execution_id:
                        self._batcher.add_metrics(batch)
            case protocol.Complete():
                await self._complete(executor, message)

    async def _complete(self, executor: ExecutorProcess, message: protocol.Complete) -> None:
        execution_id = message.execution_id
        if executor.execution_id != execution_id:
            return  # aborted: it reports nothing
        if not await executor.output_ended(message.marked):
            logger.warning("execution %s: end of output not seen; sending completion", execution_id)
        if executor.execution_id != execution_id:
            return  # aborted while we waited
        self._batcher.flush()  # the execution's logs and metrics go before its completion
        self._send(msgspec.structs.replace(message, marked=()))  # the server needs no markers
        executor.execution_id = None
        self._forget_requests(executor)
        self._by_execution.pop(execution_id, None)
        self._forget_deadline(execution_id)
        self._unblock(execution_id)
        if self._isolate:
            self._retire(executor)
            self._notify()
        else:
            self._make_idle(executor, used=True)
        self._top_up()

    # --- blocked executions -----------------------------------------------------

    def _set_blocked(self, execution_id: str, blocked: bool) -> None:
        if blocked:
            self._blocked.add(execution_id)
            self._report_blocked()
            self._notify()  # its slot is free for an execution waiting here
        else:
            self._blocked.discard(execution_id)
            if execution_id in self._reported:
                self._reported.discard(execution_id)
                self._send(protocol.Blocked(execution_id=execution_id, blocked=False))

    def _report_blocked(self) -> None:
        """Tell the server of blocked executions once it counts them (see the module)."""
        held = len(self._by_execution) + len(self._waiting)
        if len(self._blocked) > len(self._reported) and held - len(self._reported) >= (
            self._concurrency + self._prefetch
        ):
            for execution_id in sorted(self._blocked - self._reported):
                self._reported.add(execution_id)
                self._send(protocol.Blocked(execution_id=execution_id, blocked=True))
            self._top_up()  # the server may now assign that many more

    def _unblock(self, execution_id: str) -> None:
        """The execution ended here: the server forgets it with the execution."""
        self._blocked.discard(execution_id)
        self._reported.discard(execution_id)

    # --- helpers --------------------------------------------------------------

    def _forget_requests(self, executor: ExecutorProcess) -> None:
        """Drop the routes of an executor's execution: it ended, nobody waits for replies."""
        for request_id in self._routes.get(executor, ()):
            self._requests.pop(request_id, None)
        self._routes.pop(executor, None)

    def _fail(self, execution_id: str, error_type: str, message: str) -> None:
        self._batcher.flush()
        error = protocol.ErrorInfo(type=error_type, message=message)
        self._send(
            protocol.Complete(execution_id=execution_id, outcome=protocol.Failed(error=error))
        )

    def _notify(self) -> None:
        # Wakes everyone waiting on the current event; later waiters get a new one.
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def _track(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    async def _wait_for_tasks(self, timeout: float, *, cancel: bool = False) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        if cancel:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, ExecutorStartError):
            # Said once: every executor starting the same code fails the same way
            # (the warm ones at once, and each retry), until one starts again.
            repeated = str(error) == self._failure_said
            logger.log(logging.DEBUG if self._stopping or repeated else logging.ERROR, "%s", error)
            self._failure_said = str(error)
            self._start_failure = error
            self._notify()
        elif error is not None:
            logger.error("%s failed", task.get_name(), exc_info=error)
