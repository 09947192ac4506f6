"""One executor process, as the agent sees it.

``ExecutorProcess`` owns a single child running ``coflux.agent.executor``:

* spawning it in its own session, with a socket pair and its own working
  directory, and its start-up handshake (``ExecutorReady``/``ExecutorFailed``);
* reading the framed messages it sends on the socket;
* turning its stdout/stderr into log lines for the execution it is running,
  and noticing the end-of-output markers the executor writes after each one;
* terminating it (SIGTERM, then SIGKILL), watching it exit, and removing its
  working directory however it ends.

It decides nothing about which execution runs where: that is the pool's
(``coflux.agent.pool``), which hands it executions with ``begin``, sets
``execution_id`` back to ``None`` when it is done with one, and receives every
other message through the handler it gives ``run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from coflux import protocol
from coflux.agent.executor import HEADER, OUTPUT_END

logger = logging.getLogger(__name__)

_OUTPUT_WAIT = 2.0  # seconds to wait for an executor's end-of-output markers
_READ_CHUNK = 65536
_MAX_LINE = 65536  # longer output lines are split into entries of this size
_STARTUP_LINES = 50  # stderr lines kept to explain an executor that died at start
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent.parent)

MessageHandler = Callable[[protocol.ExecutorMessage], Awaitable[None]]


class ExecutorStartError(RuntimeError):
    """An executor could not import the repositories, or died before it was ready."""


class ExecutorProcess:
    """One executor process: its socket, its output and its end.

    Made by ``spawn``; ``run`` must then be awaited (in a task) for the whole
    life of the process, since it is what reads the socket and the output.

    Attributes:
        number: the pool-wide number naming it in logs and its working directory.
        generation: the pool's code generation it imported.
        execution_id: the execution its output belongs to; set by ``begin``,
            cleared by the pool (``None`` when idle, or once aborted).
        retiring: it gets no more work (closed, aborted, or its socket closed).
        ready_at: ``time.monotonic()`` when it became ready; ``None`` while starting.
    """

    def __init__(
        self,
        *,
        number: int,
        generation: int,
        repositories: list[str],
        process: asyncio.subprocess.Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        outputs: dict[str, int],
        workdir: Path,
        on_log: Callable[[protocol.LogEntry], None],
    ) -> None:
        self.number = number
        self.generation = generation
        self.execution_id: str | None = None
        self.retiring = False
        self.ready_at: float | None = None
        self._repositories = repositories
        self._process = process
        self._reader = reader
        self._writer = writer
        self._outputs = outputs  # read ends of its stdout and stderr pipes, by stream
        self._workdir = workdir
        self._on_log = on_log
        self._ready: asyncio.Future[tuple[protocol.Manifest, ...]] = (
            asyncio.get_running_loop().create_future()
        )
        # Nobody may be awaiting it when the process dies: mark it retrieved.
        self._ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._output_ended: dict[str, asyncio.Event] = {}
        self._partial = {"stdout": b"", "stderr": b""}  # each stream's unfinished last line
        self._unwritten: list[bytes] = []  # frames written at the end of this loop turn
        self._startup_output: list[str] = []

    @classmethod
    async def spawn(
        cls,
        *,
        number: int,
        generation: int,
        repositories: list[str],
        workdir: Path,
        on_log: Callable[[protocol.LogEntry], None],
        options: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> ExecutorProcess:
        """Start an executor process; it begins importing the repositories.

        Args:
            number: names it in logs.
            generation: the pool's code generation, carried for the pool.
            repositories: repository specs for it to import.
            workdir: its working directory (created here, removed when it ends).
            on_log: receives the log entries of its executions' output.
            options: more command-line options for ``coflux.agent.executor``.
            env: more environment variables for it.

        Returns:
            The process; await ``run`` next, and ``wait_ready`` for its manifests.

        Raises:
            ExecutorStartError: the OS refused (out of processes, file descriptors, ...).
        """
        try:
            workdir.mkdir()
            process, reader, writer, outputs = await _start_process(
                workdir, repositories, options, env
            )
        except OSError as e:
            shutil.rmtree(workdir, ignore_errors=True)
            raise ExecutorStartError(f"could not start an executor: {e}") from e
        return cls(
            number=number,
            generation=generation,
            repositories=repositories,
            process=process,
            reader=reader,
            writer=writer,
            outputs=outputs,
            workdir=workdir,
            on_log=on_log,
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def is_ready(self) -> bool:
        return self.ready_at is not None

    async def wait_ready(self) -> tuple[protocol.Manifest, ...]:
        """Wait until it has imported the repositories.

        Returns:
            The manifests it reported.

        Raises:
            ExecutorStartError: the import failed (with its traceback), or the
                process died first (with its first lines of output).
        """
        manifests = await self._ready
        self.ready_at = time.monotonic()
        logger.debug("executor %d ready (pid %d)", self.number, self.pid)
        return manifests

    def begin(self, command: protocol.Execute) -> None:
        """Send it an execution; its output is attributed to that execution from now on."""
        self.execution_id = command.execution_id
        self._output_ended = {"stdout": asyncio.Event(), "stderr": asyncio.Event()}
        self.write(command)

    async def output_ended(self, marked: Sequence[protocol.OutputStream]) -> bool:
        """Wait (bounded) until the current execution's output has all been handled.

        Args:
            marked: the streams the executor wrote an end marker to (they held
                unread output when the execution ended): waited for. On the
                others everything had been read, so attributed (``_Output``
                hands each chunk over as it is read), and a last line without
                a newline is the execution's too.

        Returns:
            Whether every marker was seen in time.
        """
        ended = True
        pending = [self._output_ended[s] for s in marked if not self._output_ended[s].is_set()]
        if pending:
            try:
                async with asyncio.timeout(_OUTPUT_WAIT):
                    for event in pending:
                        await event.wait()
            except TimeoutError:
                ended = False
        for level, partial in self._partial.items():
            if partial and level not in marked:
                self._partial[level] = b""
                self._line(level, partial)
        return ended

    def write(self, command: protocol.ExecutorCommand) -> None:
        """Send a command, unless the socket is already closing (then it is dropped).

        Commands written in one turn of the event loop (say, the replies to a
        workflow's many calls that came in one frame) leave in one write.
        """
        if self._writer.is_closing():
            return
        payload = protocol.encode_msgpack(command)
        if not self._unwritten:
            asyncio.get_running_loop().call_soon(self._write_out)
        self._unwritten.append(HEADER.pack(len(payload)))
        self._unwritten.append(payload)

    def _write_out(self) -> None:
        data, self._unwritten = b"".join(self._unwritten), []
        if not self._writer.is_closing():
            self._writer.write(data)

    def signal(self, signum: int) -> None:
        # Executors lead their own process group, so this also reaches the
        # processes user code started (which may hold our output pipes open).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)

    def close(self) -> None:
        """Ask an executor that runs nothing to exit: it ends when its socket closes."""
        self.retiring = True
        self._writer.close()

    async def terminate(self, grace: float) -> None:
        """SIGTERM, then SIGKILL if it has not exited after ``grace`` seconds."""
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._process.wait(), grace)
        except TimeoutError:
            logger.warning("executor %d ignored SIGTERM; killing it", self.number)
            self.signal(signal.SIGKILL)
            await self._process.wait()

    def exit_description(self) -> str:
        code = self._process.returncode
        if code is not None and code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"executor exited with code {code}"

    # --- its life -------------------------------------------------------------

    async def run(self, handle: MessageHandler, closing: Callable[[], None], grace: float) -> None:
        """Own the process from start to exit: its socket, its output, its end.

        Args:
            handle: awaited with each message after the start-up handshake, in order.
            closing: called once the socket has closed, so the caller stops
                offering it work before it has finished exiting.
            grace: seconds it gets to exit after its socket closed, then again
                between SIGTERM and SIGKILL.
        """
        loop = asyncio.get_running_loop()
        pipes: list[asyncio.BaseTransport] = []
        ended: list[asyncio.Future[None]] = []
        try:
            for level, fd in self._outputs.items():
                output = _Output(self, level, loop.create_future())
                transport, _ = await loop.connect_read_pipe(
                    lambda output=output: output,  # type: ignore[misc]
                    os.fdopen(fd, "rb", buffering=0),
                )
                pipes.append(transport)
                ended.append(output.ended)
            await self._receive(handle)
            self.retiring = True
            closing()
            try:
                await asyncio.wait_for(self._process.wait(), grace)
            except TimeoutError:
                await self.terminate(grace)
            # Processes that user code started may keep the pipes open: bounded.
            await asyncio.wait(ended, timeout=_OUTPUT_WAIT)
        finally:
            for pipe in pipes:
                pipe.close()
            for fd in list(self._outputs.values())[len(pipes) :]:  # not connected
                os.close(fd)
            self._writer.close()
            self._ended()

    def _ended(self) -> None:
        description = self.exit_description()
        logger.debug("executor %d ended: %s", self.number, description)
        if not self._ready.done():
            output = "\n".join(self._startup_output)
            self._ready.set_exception(
                ExecutorStartError(
                    f"executor {self.number} {description} before it was ready\n{output}"
                )
            )
        shutil.rmtree(self._workdir, ignore_errors=True)

    async def _receive(self, handle: MessageHandler) -> None:
        while True:
            try:
                header = await self._reader.readexactly(HEADER.size)
                payload = await self._reader.readexactly(HEADER.unpack(header)[0])
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            try:
                message = protocol.decode_executor_message(payload)
            except protocol.ProtocolError as e:
                logger.error("executor %d sent a bad message (%s); killing it", self.number, e)
                self.signal(signal.SIGKILL)
                return
            match message:
                case protocol.ExecutorReady(manifests=manifests):
                    if not self._ready.done():
                        self._ready.set_result(manifests)
                case protocol.ExecutorFailed(error=error):
                    if not self._ready.done():
                        repositories = ", ".join(self._repositories)
                        self._ready.set_exception(
                            ExecutorStartError(
                                f"could not import {repositories}:\n{error.traceback}"
                            )
                        )
                case _:
                    await handle(message)

    # --- output ---------------------------------------------------------------

    def _output(self, level: str, data: bytes) -> None:
        """Output read from a pipe, attributed as it is read (see ``output_ended``)."""
        *lines, partial = (self._partial[level] + data).split(b"\n")
        for line in lines:
            self._line(level, line)
        while len(partial) > _MAX_LINE:
            self._line(level, partial[:_MAX_LINE])
            partial = partial[_MAX_LINE:]
        self._partial[level] = partial

    def _output_closed(self, level: str) -> None:
        if self._partial[level]:
            self._line(level, self._partial[level])
            self._partial[level] = b""

    def _line(self, level: str, line: bytes) -> None:
        marker = line.find(OUTPUT_END)
        if marker >= 0:
            if marker > 0:  # a partial last line, ended by the marker
                self._line(level, line[:marker])
            ended = line[marker + len(OUTPUT_END) :].decode("utf-8", "replace")
            if ended == self.execution_id:
                self._output_ended[level].set()
            return
        text = line.decode("utf-8", "replace").removesuffix("\r")
        if self.execution_id is not None:
            entry = protocol.LogEntry(
                execution_id=self.execution_id,
                timestamp=time.time(),
                level="stdout" if level == "stdout" else "stderr",
                template=text,
            )
            self._on_log(entry)
        else:
            if not self.is_ready and len(self._startup_output) < _STARTUP_LINES:
                self._startup_output.append(text)
            logger.info("executor %d %s: %s", self.number, level, text)


class _Output(asyncio.Protocol):
    """One output pipe of an executor: each chunk is handed over as it is read.

    Not a ``StreamReader`` and a task: those hand data over a turn or two of the
    loop later, and the pool relies on everything read before an execution's
    ``Complete`` being attributed before it (``ExecutorProcess.output_ended``).
    """

    def __init__(self, owner: ExecutorProcess, level: str, ended: asyncio.Future[None]) -> None:
        self._owner = owner
        self._level = level
        self.ended = ended

    def data_received(self, data: bytes) -> None:
        self._owner._output(self._level, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._output_closed(self._level)
        if not self.ended.done():
            self.ended.set_result(None)


async def _start_process(
    workdir: Path,
    repositories: list[str],
    options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> tuple[asyncio.subprocess.Process, asyncio.StreamReader, asyncio.StreamWriter, dict[str, int]]:
    """Spawn an executor; its process, socket ends and output pipes' read ends."""
    parent, child = socket.socketpair()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        process = await asyncio.create_subprocess_exec(
            *_command(child.fileno(), workdir, repositories),
            *options,
            pass_fds=(child.fileno(),),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out_write,
            stderr=err_write,
            env={**_environment(), **(env or {})},
            start_new_session=True,  # terminal signals are the agent's to handle
        )
    except BaseException:
        for fd in (out_read, err_read):
            os.close(fd)
        parent.close()
        raise
    finally:
        # The child has its copies; ours would keep the socket and pipes open after it exits.
        child.close()
        os.close(out_write)
        os.close(err_write)
    reader, writer = await asyncio.open_unix_connection(sock=parent)
    return process, reader, writer, {"stdout": out_read, "stderr": err_read}


def _command(fd: int, workdir: Path, repositories: list[str]) -> list[str]:
    command = [sys.executable, "-m", "coflux.agent.executor", "--fd", str(fd)]
    # So that it ends with this process, even if it never notices its socket close.
    command += ["--agent-pid", str(os.getpid())]
    command += ["--workdir", str(workdir)]
    for repository in repositories:
        command += ["--repository", repository]
    return command


def _environment() -> dict[str, str]:
    # The agent's environment (how deployment secrets reach executions),
    # plus the path that makes `coflux` importable even when not installed.
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(
        [_PACKAGE_PARENT, *(p for p in paths if p != _PACKAGE_PARENT)]
    )
    return env
