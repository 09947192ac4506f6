"""The executor pool: warm executor processes, each running one execution at a time.

The agent owns one ``Pool``. Executors (``coflux.agent.executor``) are started
ahead of time with the repositories imported, so starting an execution costs a
message. By default an executor is reused for the next execution (the executor
resets cwd, environment and context in between); with ``isolate=True`` each
executor runs one execution and is replaced.

The pool is the executors' only link to the agent's connection, through the
``send`` callable it is given:

* ``Submit``/``GetResult`` from an executor are forwarded with ``request_id``
  rewritten to a pool-wide counter; ``deliver`` routes the server's replies back.
* ``Complete`` is forwarded once the execution's output has been read (the
  executor writes an end marker to stdout and stderr before sending it).
* ``LogMessage`` entries and stdout/stderr lines become batched ``Logs``.

User code is never trusted: an executor that dies mid-execution is reported as
``coflux.ExecutorDied`` and replaced; ``abort`` terminates (then kills) the
process and reports nothing; every executor's working directory is removed when
it exits, however it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from coflux import protocol
from coflux.agent.executor import HEADER, OUTPUT_END

logger = logging.getLogger(__name__)

_OUTPUT_WAIT = 2.0  # seconds to wait for an executor's end-of-output markers
_READ_CHUNK = 65536
_MAX_LINE = 65536  # longer output lines are split into entries of this size
_STARTUP_LINES = 50  # stderr lines kept to explain an executor that died at start
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent.parent)


class ExecutorStartError(RuntimeError):
    """An executor could not import the repositories, or died before it was ready."""


class _LogBatcher:
    """Collects log entries and sends them as one ``Logs`` per batch."""

    def __init__(self, send: Callable[[protocol.AgentMessage], None]) -> None:
        self._send = send
        self._entries: list[protocol.LogEntry] = []
        self._timer: asyncio.TimerHandle | None = None
        self.interval = 0.05
        self.limit = 100

    def add(self, entry: protocol.LogEntry) -> None:
        self._entries.append(entry)
        if len(self._entries) >= self.limit:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._entries:
            entries, self._entries = tuple(self._entries), []
            self._send(protocol.Logs(entries=entries))


@dataclass(eq=False)
class _Executor:
    """The pool's view of one executor process."""

    number: int
    generation: int
    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    workdir: Path
    ready: asyncio.Future[tuple[protocol.Manifest, ...]]
    is_ready: bool = False
    retiring: bool = False
    execution_id: str | None = None  # None when idle, or once aborted
    output_ended: dict[str, asyncio.Event] = field(default_factory=dict)
    startup_output: list[str] = field(default_factory=list)

    def write(self, command: protocol.ExecutorCommand) -> None:
        if not self.writer.is_closing():
            payload = protocol.encode_msgpack(command)
            self.writer.write(HEADER.pack(len(payload)) + payload)

    def signal(self, signum: int) -> None:
        # Executors lead their own process group, so this also reaches the
        # processes user code started (which may hold our output pipes open).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def exit_description(self) -> str:
        code = self.process.returncode
        if code is not None and code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"executor exited with code {code}"


class Pool:
    """Warm executor processes for the repositories an agent hosts.

    Args:
        repositories: repository specs (``hello.py`` or ``pkg.flows``).
        concurrency: the most executions run at once.
        isolate: give each execution a fresh process.
        send: sends a message to the server (through the agent's connection).
        warm: how many idle executors to keep ready.
        abort_grace: seconds between SIGTERM and SIGKILL when aborting.
    """

    def __init__(
        self,
        repositories: list[str],
        *,
        concurrency: int,
        isolate: bool,
        send: Callable[[protocol.AgentMessage], None],
        warm: int = 1,
        abort_grace: float = 5.0,
    ) -> None:
        if concurrency < 1 or warm < 0:
            raise ValueError(f"need concurrency >= 1 and warm >= 0 (got {concurrency}, {warm})")
        self._repositories = list(repositories)
        self._concurrency = concurrency
        self._isolate = isolate
        self._send = send
        self._warm = warm
        self._abort_grace = abort_grace
        self._logs = _LogBatcher(send)
        self._root: Path | None = None
        self._numbers = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._generation = 0
        self._executors: set[_Executor] = set()
        self._idle: list[_Executor] = []  # picked from the end
        self._starting = 0
        self._by_execution: dict[str, _Executor] = {}
        self._waiting: set[str] = set()  # executions waiting for an executor
        self._aborted_early: set[str] = set()
        self._requests: dict[int, tuple[_Executor, int]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wakeup = asyncio.Event()
        self._start_failure: ExecutorStartError | None = None
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
        results = await asyncio.gather(
            *(self._launch() for _ in range(max(1, self._warm))), return_exceptions=True
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
        try:
            executor = await self._acquire()
        except ExecutorStartError as e:
            if not self._stopping and execution_id not in self._aborted_early:
                self._fail(execution_id, "coflux.ExecutorFailed", str(e))
            return
        finally:
            self._waiting.discard(execution_id)
        if execution_id in self._aborted_early:
            self._aborted_early.discard(execution_id)
            self._make_idle(executor, used=True)
            return
        executor.execution_id = execution_id
        executor.output_ended = {"stdout": asyncio.Event(), "stderr": asyncio.Event()}
        self._by_execution[execution_id] = executor
        logger.debug("execution %s -> executor %d", execution_id, executor.number)
        executor.write(command)
        self._top_up()

    def deliver(self, message: protocol.Submitted | protocol.ResultReady) -> None:
        """Route a reply from the server to the executor that made the request.

        Args:
            message: the reply; its ``request_id`` is one this pool sent.
        """
        route = self._requests.pop(message.request_id, None)
        if route is None:
            logger.debug("no executor waits for request %d (dropped)", message.request_id)
            return
        executor, local_id = route
        if executor.execution_id is None:
            return  # its execution was aborted
        executor.write(msgspec.structs.replace(message, request_id=local_id))

    async def abort(self, execution_id: str) -> None:
        """Stop an execution: SIGTERM, then SIGKILL after the grace period.

        The execution reports nothing further (not even its output).

        Args:
            execution_id: the execution; unknown ids are ignored.
        """
        if execution_id in self._waiting:
            self._aborted_early.add(execution_id)
            return
        executor = self._by_execution.pop(execution_id, None)
        if executor is None:
            logger.debug("abort of %s: not running here", execution_id)
            return
        logger.info("aborting execution %s (executor %d)", execution_id, executor.number)
        executor.execution_id = None
        executor.retiring = True
        await self._terminate(executor, self._abort_grace)

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
        self._logs.flush()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    def executing(self) -> set[str]:
        """The executions this pool holds (running, or waiting for an executor)."""
        return set(self._by_execution) | self._waiting

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

    async def _start(self, generation: int) -> tuple[_Executor, tuple[protocol.Manifest, ...]]:
        try:
            executor = await self._spawn(generation)
        except OSError as e:  # out of processes, file descriptors, ...
            raise ExecutorStartError(f"could not start an executor: {e}") from e
        manifests = await executor.ready
        executor.is_ready = True
        logger.debug("executor %d ready (pid %d)", executor.number, executor.process.pid)
        return executor, manifests

    async def _spawn(self, generation: int) -> _Executor:
        if self._stopping or self._root is None:
            raise ExecutorStartError("the executor pool is stopping")
        number = next(self._numbers)
        workdir = self._root / f"executor-{number}"
        workdir.mkdir()
        parent, child = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command(child.fileno(), workdir),
                pass_fds=(child.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._environment(),
                start_new_session=True,  # terminal signals are the agent's to handle
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent)
        ready: asyncio.Future[tuple[protocol.Manifest, ...]] = (
            asyncio.get_running_loop().create_future()
        )
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())  # mark retrieved
        executor = _Executor(number, generation, process, reader, writer, workdir, ready)
        self._executors.add(executor)
        self._track(self._supervise(executor), f"executor {number}")
        if self._stopping:
            executor.signal(signal.SIGKILL)
        return executor

    def _command(self, fd: int, workdir: Path) -> list[str]:
        command = [sys.executable, "-m", "coflux.agent.executor", "--fd", str(fd)]
        command += ["--workdir", str(workdir)]
        for repository in self._repositories:
            command += ["--repository", repository]
        return command

    def _environment(self) -> dict[str, str]:
        # The agent's environment (how deployment secrets reach executions),
        # plus the path that makes `coflux` importable even when not installed.
        env = dict(os.environ)
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(
            [_PACKAGE_PARENT, *(p for p in paths if p != _PACKAGE_PARENT)]
        )
        return env

    # --- executor lifecycle ---------------------------------------------------

    async def _acquire(self) -> _Executor:
        failure = self._start_failure
        while True:
            if self._stopping:
                raise ExecutorStartError("the executor pool is stopping")
            if self._idle:
                return self._idle.pop()
            if self._start_failure is not failure and self._starting == 0:
                raise self._start_failure  # type: ignore[misc]
            if self._starting == 0 and self._alive() < self._limit():
                self._launch()
            await self._wakeup.wait()

    def _alive(self) -> int:
        return self._starting + sum(1 for e in self._executors if e.is_ready and not e.retiring)

    def _limit(self) -> int:
        return self._concurrency + self._warm

    def _top_up(self) -> None:
        """Start executors until ``warm`` are idle or starting (within the limit)."""
        while (
            not self._stopping
            and len(self._idle) + self._starting < self._warm
            and self._alive() < self._limit()
        ):
            self._launch()

    def _make_idle(self, executor: _Executor, *, used: bool = False) -> None:
        if self._stopping or executor.generation != self._generation or executor.retiring:
            self._retire(executor)
        elif used:
            self._idle.append(executor)  # picked next: reuse a process that is in use
        else:
            self._idle.insert(0, executor)  # a fresh spare waits at the front
        self._notify()

    def _retire(self, executor: _Executor) -> None:
        """Stop an executor that is not running anything: closing its socket ends it."""
        executor.retiring = True
        if executor in self._idle:
            self._idle.remove(executor)
        executor.writer.close()

    async def _terminate(self, executor: _Executor, grace: float) -> None:
        executor.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(executor.process.wait(), grace)
        except TimeoutError:
            logger.warning("executor %d ignored SIGTERM; killing it", executor.number)
            executor.signal(signal.SIGKILL)
            await executor.process.wait()

    async def _supervise(self, executor: _Executor) -> None:
        """Own one executor from start to exit: its socket, its output, its end."""
        assert executor.process.stdout is not None and executor.process.stderr is not None
        pumps = [
            asyncio.create_task(self._pump(executor, executor.process.stdout, "stdout")),
            asyncio.create_task(self._pump(executor, executor.process.stderr, "stderr")),
        ]
        try:
            await self._receive(executor)
            # The socket closed, so the process is ending: never hand it work.
            executor.retiring = True
            if executor in self._idle:
                self._idle.remove(executor)
            try:
                await asyncio.wait_for(executor.process.wait(), self._abort_grace)
            except TimeoutError:
                await self._terminate(executor, self._abort_grace)
            # Processes that user code started may keep the pipes open: bounded.
            await asyncio.wait(pumps, timeout=_OUTPUT_WAIT)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            executor.writer.close()
            self._exited(executor)

    def _exited(self, executor: _Executor) -> None:
        self._executors.discard(executor)
        if executor in self._idle:
            self._idle.remove(executor)
        description = executor.exit_description()
        logger.debug("executor %d ended: %s", executor.number, description)
        if not executor.ready.done():
            output = "\n".join(executor.startup_output)
            executor.ready.set_exception(
                ExecutorStartError(
                    f"executor {executor.number} {description} before it was ready\n{output}"
                )
            )
        execution_id = executor.execution_id
        if execution_id is not None:
            executor.execution_id = None
            self._by_execution.pop(execution_id, None)
            logger.warning("execution %s: %s", execution_id, description)
            self._fail(execution_id, "coflux.ExecutorDied", description)
        for request_id, (owner, _) in list(self._requests.items()):
            if owner is executor:
                del self._requests[request_id]
        shutil.rmtree(executor.workdir, ignore_errors=True)
        self._notify()
        if executor.is_ready:  # a start failure must not start another one, forever
            self._top_up()

    # --- messages from executors ------------------------------------------------

    async def _receive(self, executor: _Executor) -> None:
        while True:
            try:
                header = await executor.reader.readexactly(HEADER.size)
                payload = await executor.reader.readexactly(HEADER.unpack(header)[0])
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            try:
                message = protocol.decode_executor_message(payload)
            except protocol.ProtocolError as e:
                logger.error("executor %d sent a bad message (%s); killing it", executor.number, e)
                executor.signal(signal.SIGKILL)
                return
            await self._handle(executor, message)

    async def _handle(self, executor: _Executor, message: protocol.ExecutorMessage) -> None:
        match message:
            case protocol.ExecutorReady(manifests=manifests) if not executor.ready.done():
                executor.ready.set_result(manifests)
            case protocol.ExecutorFailed(error=error) if not executor.ready.done():
                repositories = ", ".join(self._repositories)
                executor.ready.set_exception(
                    ExecutorStartError(f"could not import {repositories}:\n{error.traceback}")
                )
            case protocol.Submit() | protocol.GetResult():
                if executor.execution_id is not None:
                    request_id = next(self._request_ids)
                    self._requests[request_id] = (executor, message.request_id)
                    self._send(msgspec.structs.replace(message, request_id=request_id))
            case protocol.CancelExecution():
                if executor.execution_id is not None:
                    self._send(message)
            case protocol.LogMessage(entry=entry):
                if entry.execution_id == executor.execution_id:
                    self._logs.add(entry)
            case protocol.Complete():
                await self._complete(executor, message)

    async def _complete(self, executor: _Executor, message: protocol.Complete) -> None:
        execution_id = message.execution_id
        if executor.execution_id != execution_id:
            return  # aborted: it reports nothing
        waits = [event.wait() for event in executor.output_ended.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), _OUTPUT_WAIT)
        except TimeoutError:
            logger.warning("execution %s: end of output not seen; sending completion", execution_id)
        if executor.execution_id != execution_id:
            return  # aborted while we waited
        self._logs.flush()  # the execution's logs go before its completion
        self._send(message)
        executor.execution_id = None
        self._by_execution.pop(execution_id, None)
        if self._isolate:
            self._retire(executor)
            self._notify()
        else:
            self._make_idle(executor, used=True)
        self._top_up()

    # --- output ---------------------------------------------------------------

    async def _pump(self, executor: _Executor, stream: asyncio.StreamReader, level: str) -> None:
        buffer = b""
        while chunk := await stream.read(_READ_CHUNK):
            *lines, buffer = (buffer + chunk).split(b"\n")
            for line in lines:
                self._line(executor, level, line)
            while len(buffer) > _MAX_LINE:
                self._line(executor, level, buffer[:_MAX_LINE])
                buffer = buffer[_MAX_LINE:]
        if buffer:
            self._line(executor, level, buffer)

    def _line(self, executor: _Executor, level: str, line: bytes) -> None:
        marker = line.find(OUTPUT_END)
        if marker >= 0:
            if marker > 0:  # a partial last line, ended by the marker
                self._line(executor, level, line[:marker])
            ended = line[marker + len(OUTPUT_END) :].decode("utf-8", "replace")
            if ended == executor.execution_id:
                executor.output_ended[level].set()
            return
        text = line.decode("utf-8", "replace").removesuffix("\r")
        if executor.execution_id is not None:
            entry = protocol.LogEntry(
                execution_id=executor.execution_id,
                timestamp=time.time(),
                level="stdout" if level == "stdout" else "stderr",
                template=text,
            )
            self._logs.add(entry)
        else:
            if not executor.is_ready and len(executor.startup_output) < _STARTUP_LINES:
                executor.startup_output.append(text)
            logger.info("executor %d %s: %s", executor.number, level, text)

    # --- helpers --------------------------------------------------------------

    def _fail(self, execution_id: str, error_type: str, message: str) -> None:
        self._logs.flush()
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
            logger.log(logging.DEBUG if self._stopping else logging.ERROR, "%s", error)
            self._start_failure = error
            self._notify()
        elif error is not None:
            logger.error("%s failed", task.get_name(), exc_info=error)
