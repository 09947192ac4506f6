"""The executor process: imports the repositories once, then runs executions.

Started by the pool (``coflux.agent.pool``) as::

    python -m coflux.agent.executor --fd N --workdir DIR --repository hello.py ...

``--fd`` is this process's end of a socket pair. Frames on it are a 4-byte
big-endian length followed by a msgpack ``protocol.ExecutorMessage`` (to the
agent) or ``protocol.ExecutorCommand`` (from it). The process first imports the
repositories and sends ``ExecutorReady(manifests)`` (or ``ExecutorFailed`` and
exits 1), then runs one ``Execute`` at a time, in its main thread.

A reader thread owns the receiving side: it queues ``Execute`` commands for the
main thread and hands ``Submitted``/``ResultReady`` replies to the calls waiting
for them, while user code runs (a submission is answered twice: ``Submitted``,
then ``ResultReady`` with the same request id once the call has an outcome).

A wait for a reply that lasts longer than ``BLOCKED_AFTER`` is reported to the
agent (``Blocked``), and its end too: an execution waiting on its children holds
its process but should not hold a concurrency slot (``coflux.agent.pool``).
Shorter waits, the usual ones, cost no message.

The agent's end: when the socket closes (or is reset, as it is when the agent
dies with messages unread), every pending reply fails at once (``.result()``
raises ``ConnectionError``), an idle process exits, and one still running user
code is ended after ``AGENT_GONE_GRACE`` seconds, whatever that code is doing,
with the processes it started (its process group) and its working directory.
Because a socket can outlive its agent unnoticed, the agent's death reaches the
process in two more ways: on Linux the kernel sends it ``SIGHUP``
(``PR_SET_PDEATHSIG``), and a watchdog thread checks every ``WATCHDOG_INTERVAL``
seconds that its parent is still the agent (``--agent-pid``). Either shuts the
socket down, which ends it as above.

Values: with ``--blob-url`` and ``--blob-cache`` (and the token in the
environment variable ``coflux.agent.blobs.TOKEN_ENV``, removed before user code
is imported), values above ``--blob-threshold`` bytes are uploaded to the
server's blob store by this process and read back through the agent's shared
cache (``coflux.agent.blobs``); without them every value travels inline. With
``--no-pickle`` it neither unpickles nor pickles a value: an execution whose
argument, result or awaited result needs pickle fails with
``coflux.serialization.PickleDisabledError``.

Output: fds 1 and 2 are pipes the pool reads line by line. At the end of each
execution Python's streams are flushed; a pipe that still holds unread output
then gets an end marker (``OUTPUT_END`` + the execution id) *before* ``Complete``
is sent (which names the marked pipes), so the pool can attribute every line to
the right execution. A pipe with nothing unread needs none: the pool has read
(and attributed) everything written to it. Most executions print nothing, and
two pipe writes and two wake-ups of the agent per execution were a fifth of a
trivial task's cost.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import gc
import io
import os
import queue
import shutil
import signal
import socket
import struct
import sys
import tempfile
import termios
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

from coflux import errors, protocol, serialization
from coflux.agent import blobs
from coflux.sdk import context, runtime, tracing
from coflux.sdk.context import Suspension
from coflux.sdk.manifest import build_manifest, find_targets, load_repository
from coflux.sdk.target import Target

OUTPUT_END = b"\x1e\x1fcoflux-output-end:"
"""Starts the line an executor writes to fds 1 and 2 after each execution."""

HEADER = struct.Struct(">I")
"""The length prefix of a frame on the executor socket."""

BLOCKED_AFTER = 0.005
"""Seconds a wait for a reply lasts before the execution is reported blocked. A
chain step's wait for the previous one takes ~1.5 ms here: well under."""

AGENT_GONE_GRACE = 2.0
"""Seconds user code may go on after the agent's end, before the process exits."""

WATCHDOG_INTERVAL = 1.0
"""Seconds between checks that the agent is still this process's parent."""

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


# Guards replies' watcher lists: rarely used (only ``cf.select`` watches), so one
# lock for all rather than one more per reply.
_WATCH_LOCK = threading.Lock()


class _Reply:
    """A reply the main thread (or a user thread) is waiting for.

    A workflow may have thousands of calls in flight, each with two replies, so
    this is a bare lock (held until the reply comes) rather than an ``Event``
    (a condition and a lock of its own per instance).
    """

    __slots__ = ("_connection", "_done", "_message", "_settled", "_watchers")

    def __init__(self, connection: Connection | None = None) -> None:
        self._connection = connection  # told of long waits (None: nobody is)
        self._done = threading.Lock()
        self._done.acquire()  # released once, when settled
        self._message: context.Reply | None = None
        self._settled = False
        self._watchers: list[Callable[[], None]] | None = None  # ``cf.select`` waits

    def when_settled(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the reply arrives (or the connection closes); now
        if it already has."""
        with _WATCH_LOCK:
            if not self._settled:
                self._watchers = [*(self._watchers or ()), callback]
                return
        callback()

    def resolve(self, message: context.Reply) -> None:
        self._settle(message)

    def close(self) -> None:
        self._settle(None)

    def _settle(self, message: context.Reply | None) -> None:
        # Called by the reader thread only, after taking the reply out of its table.
        if not self._settled:
            self._message = message  # before _settled: waiters read it once that is set
            with _WATCH_LOCK:
                self._settled = True
                watchers, self._watchers = self._watchers, None
            self._done.release()
            for callback in watchers or ():
                callback()

    def wait(self, timeout: float | None) -> context.Reply | None:
        if not self._settled:
            if not self._acquire(timeout):
                return None
            self._done.release()  # let every other waiter through too
        if self._message is None:
            raise ConnectionError("the connection to the agent closed")
        return self._message

    def _acquire(self, timeout: float | None) -> bool:
        connection = self._connection
        if connection is None or (timeout is not None and timeout <= BLOCKED_AFTER):
            return self._done.acquire(timeout=-1 if timeout is None else timeout)
        if self._done.acquire(timeout=BLOCKED_AFTER):
            return True  # the usual, short wait: nothing to report
        rest = -1 if timeout is None else timeout - BLOCKED_AFTER
        return connection.blocked_while(lambda: self._done.acquire(timeout=rest))


class Connection:
    """This process's end of the socket pair (the SDK's ``context.Channel``)."""

    def __init__(self, sock: socket.socket, workdir: str | None = None) -> None:
        self._sock = sock
        self._file = sock.makefile("rb")
        self._workdir = workdir  # removed if the agent ends first (it cannot any more)
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending: dict[int, _Reply] = {}  # request id -> its (first) reply
        self._outcomes: dict[int, _Reply] = {}  # submission's request id -> its ResultReady
        self._next_id = 1
        self._closed = False  # the socket ended: no reply will come any more
        self._reading = False  # the reader thread runs (from the end of the import)
        self._commands: queue.SimpleQueue[protocol.Execute | None] = queue.SimpleQueue()
        # The execution being run, and how many of its threads wait past BLOCKED_AFTER.
        self._blocked_lock = threading.Lock()
        self._execution_id: str | None = None
        self._waits = 0

    def send(self, message: protocol.ExecutorMessage) -> None:
        payload = protocol.encode_msgpack(message)
        with self._send_lock:  # user threads may log while the main thread sends
            self._sock.sendall(HEADER.pack(len(payload)) + payload)

    def request(self, make: Callable[[int], context.Request]) -> _Reply:
        reply = _Reply(self)
        with self._lock:
            self._check_open()
            request_id = self._next_id
            self._next_id += 1
            self._pending[request_id] = reply
        self.send(make(request_id))
        return reply

    def submit(self, make: Callable[[int], protocol.Submit]) -> tuple[_Reply, _Reply]:
        submitted, outcome = _Reply(self), _Reply(self)
        with self._lock:
            self._check_open()
            request_id = self._next_id
            self._next_id += 1
            self._pending[request_id] = submitted
            self._outcomes[request_id] = outcome
        self.send(make(request_id))
        return submitted, outcome

    def _check_open(self) -> None:
        if self._closed:  # its reply could never come
            raise ConnectionError("the connection to the agent closed")

    # --- the execution being run, and its waits ------------------------------------

    def begin(self, execution_id: str) -> None:
        with self._blocked_lock:
            self._execution_id = execution_id
            self._waits = 0

    def end(self) -> None:
        """The execution ended: threads it left waiting report nothing more."""
        with self._blocked_lock:
            self._execution_id = None
            self._waits = 0

    @property
    def running(self) -> bool:
        return self._execution_id is not None

    def blocked_while(self, wait: Callable[[], bool]) -> bool:
        """Run ``wait`` (a long wait for a reply), reporting the execution blocked
        while at least one of its threads is in one.

        Returns:
            What ``wait`` returned.
        """
        execution_id = self._blocking(None, +1)
        try:
            return wait()
        finally:
            self._blocking(execution_id, -1)

    def _blocking(self, execution_id: str | None, change: int) -> str | None:
        with self._blocked_lock:  # held while sending: reports leave in order
            current = self._execution_id
            if current is None or (change < 0 and execution_id != current):
                return None  # no execution, or the wait began in an earlier one
            self._waits += change
            if self._waits == (1 if change > 0 else 0):
                with contextlib.suppress(OSError):  # the agent is gone: nobody to tell
                    self.send(protocol.Blocked(execution_id=current, blocked=change > 0))
            return current

    def forget_outcomes(self) -> None:
        """Stop waiting for the outcomes of the last execution's calls (it ended)."""
        with self._lock:
            self._outcomes.clear()

    def next_command(self) -> protocol.Execute | None:
        """The next execution to run; ``None`` once the socket has closed."""
        return self._commands.get()

    def start_reader(self) -> None:
        self._reading = True
        threading.Thread(target=self._read_loop, name="coflux-executor-reader", daemon=True).start()

    def _read_frame(self) -> bytes | None:
        header = self._file.read(HEADER.size)
        if len(header) < HEADER.size:
            return None
        (length,) = HEADER.unpack(header)
        payload = self._file.read(length)
        return payload if len(payload) == length else None

    def _read_loop(self) -> None:
        try:
            while (payload := self._read_frame()) is not None:
                try:
                    command = protocol.decode_executor_command(payload)
                except protocol.ProtocolError as e:
                    os.write(2, f"coflux executor: bad command from the agent: {e}\n".encode())
                    os._exit(2)
                match command:
                    case protocol.Execute():
                        self._commands.put(command)
                    case (
                        protocol.Submitted()
                        | protocol.ResultReady()
                        | protocol.AssetReply()
                        | protocol.InputReply()
                    ):
                        if (reply := self._reply_to(command)) is not None:
                            reply.resolve(command)
        except OSError:
            # ECONNRESET: the agent died with messages of ours unread. Ended all the same.
            pass
        self._agent_gone()

    def _reply_to(self, command: context.Reply) -> _Reply | None:
        request_id = command.request_id
        with self._lock:
            if isinstance(command, protocol.Submitted) and command.execution_id is None:
                self._outcomes.pop(request_id, None)  # refused: no outcome will follow
            reply = self._pending.pop(request_id, None)
            if reply is None and isinstance(command, protocol.ResultReady):
                reply = self._outcomes.pop(request_id, None)
            return reply

    @property
    def closed(self) -> bool:
        return self._closed

    def shut_down(self) -> None:
        """End the connection from this side (the agent is gone): the reader sees it end."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        if not self._reading:  # still importing the repositories: nobody else would notice
            threading.Thread(
                target=self._agent_gone, name="coflux-executor-end", daemon=True
            ).start()

    def _agent_gone(self) -> None:
        # Nobody can receive a result any more. Every waiter fails now and an
        # idle process exits (its main thread gets None); user code that goes on
        # regardless (it computes, or catches the error) has no one to report
        # to, so after the grace the process ends, with what it started.
        with self._lock:
            self._closed = True
            pending, self._pending = self._pending, {}
            outcomes, self._outcomes = self._outcomes, {}
        for reply in [*pending.values(), *outcomes.values()]:
            reply.close()
        self._commands.put(None)
        time.sleep(AGENT_GONE_GRACE)  # the main thread may well exit first, ending this
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        if os.getpgid(0) == os.getpid():  # it leads its group (the agent made it so)
            os.killpg(os.getpid(), signal.SIGKILL)
        os._exit(1)


def error_info(error: BaseException) -> protocol.ErrorInfo:
    """Describe an exception raised by user code, without the executor's own frames."""
    tb: TracebackType | None = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        tb = tb.tb_next
    kind = type(error)
    if isinstance(error, errors.RemoteError):
        # A child's error passed on: it keeps the type and message it was raised with.
        type_name, message = error.remote_type, error.remote_message
    else:
        type_name, message = f"{kind.__module__}.{kind.__qualname__}", str(error)
    return protocol.ErrorInfo(
        type=type_name,
        message=message,
        traceback="".join(traceback.format_exception(kind, error, tb or error.__traceback__)),
    )


class Executor:
    """Runs executions one after another, resetting the process between them.

    Args:
        connection: the socket to the agent.
        targets: the loaded targets by (repository, name).
        workdir: where fresh working directories are made (one per execution).
        values: serialises arguments and results (through the blob store, if any).
    """

    def __init__(
        self,
        connection: Connection,
        targets: dict[tuple[str, str], Target[..., Any]],
        workdir: str | None,
        values: serialization.ValueCodec | None = None,
    ) -> None:
        self._connection = connection
        self._values = values or serialization.ValueCodec()
        self._targets = targets
        self._workdir = workdir
        self._cwd = os.getcwd()
        self._environ = dict(os.environ)
        self._environ_raw = dict(_raw_environ())  # the same, as compared cheaply in _reset
        self._streams = (sys.stdout, sys.stderr)
        self._spare_directory: str | None = None

    def serve(self) -> None:
        """Run executions until the socket closes."""
        while (command := self._connection.next_command()) is not None:
            self._connection.begin(command.execution_id)
            outcome = self.run(command)
            self._connection.end()
            self._connection.forget_outcomes()
            marked = self._end_output(command.execution_id)
            self._connection.send(
                protocol.Complete(execution_id=command.execution_id, outcome=outcome, marked=marked)
            )

    def run(self, command: protocol.Execute) -> protocol.ReportedOutcome:
        """Run one execution in a fresh (empty) working directory and report its outcome."""
        directory = self._spare_directory or tempfile.mkdtemp(dir=self._workdir)
        self._spare_directory = None
        ctx = context.ExecutionContext(
            command.execution_id,
            self._connection,
            values=self._values,
            working_dir=Path(directory),
        )
        token = context.activate(ctx)
        target: Target[..., Any] | None = None
        try:
            os.chdir(directory)
            target = self._target(command)
            arguments = [
                self._argument(index, value, ctx) for index, value in enumerate(command.arguments)
            ]
            with tracing.execution_span(command.execution_id):
                result = target.invoke(arguments)
            return protocol.Succeeded(value=self._values.dump(result))
        except Suspension as suspension:
            return protocol.Suspended(
                due_at=suspension.due_at,
                waiting_for=suspension.waiting_for,
                waiting_for_inputs=suspension.waiting_for_inputs,
            )
        except BaseException as e:  # user code may raise anything, SystemExit included
            error = error_info(e)
            if target is not None and not target.retryable(e):
                error = msgspec.structs.replace(error, retryable=False)
            return protocol.Failed(error=error)
        finally:
            ctx.close()  # its last metrics go before its completion
            context.reset(token)
            self._reset()
            self._clean_up(directory)

    def _argument(self, index: int, value: protocol.Value, ctx: context.ExecutionContext) -> Any:
        try:
            return self._values.load(value, resolve_execution=ctx.handle)
        except serialization.PickleDisabledError as e:
            raise serialization.PickleDisabledError(f"arguments[{index}]: {e}") from None

    def _clean_up(self, directory: str) -> None:
        # An execution that left its directory empty hands it on as is: as good as
        # fresh, and it spares a directory creation and removal per execution.
        try:
            empty = not os.listdir(directory)
        except OSError:
            empty = False
        if empty:
            self._spare_directory = directory
        else:
            shutil.rmtree(directory, ignore_errors=True)

    def _target(self, command: protocol.Execute) -> Target[..., Any]:
        target = self._targets.get((command.repository, command.target))
        if target is None:
            raise LookupError(f"target {command.repository}:{command.target} is not hosted here")
        return target

    def _reset(self) -> None:
        """Undo what an execution may have changed in the process."""
        os.chdir(self._cwd)
        sys.stdout, sys.stderr = self._streams
        if _raw_environ() == self._environ_raw:
            return  # untouched (the usual case): nothing to undo
        for name in set(os.environ) - set(self._environ):
            del os.environ[name]
        for name, value in self._environ.items():
            if os.environ.get(name) != value:
                os.environ[name] = value

    def _end_output(self, execution_id: str) -> tuple[protocol.OutputStream, ...]:
        """Flush the execution's output; mark the pipes that still hold some of it.

        Returns:
            The streams that got an end marker.
        """
        marker = OUTPUT_END + execution_id.encode() + b"\n"
        marked: list[protocol.OutputStream] = []
        for name, stream, fd in (("stdout", sys.stdout, 1), ("stderr", sys.stderr, 2)):
            with contextlib.suppress(OSError, ValueError):  # user code closed the stream
                stream.flush()
            if _unread(fd) == 0:
                continue  # all read by the pool already: nothing to tell apart
            try:
                os.write(fd, marker)
            except OSError:  # user code closed the fd: the pool gets nothing more from it
                continue
            marked.append(name)  # type: ignore[arg-type]
        return tuple(marked)


def _unread(fd: int) -> int | None:
    """Bytes written to the pipe ``fd`` that its reader has not read yet (None if unknown)."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]  # type: ignore[no-any-return]
    except OSError:  # not a pipe any more (user code replaced the fd), or closed
        return None


def _raw_environ() -> dict[bytes, bytes]:
    # CPython keeps os.environ's contents encoded in ``_data``; comparing that dict
    # is one C call, where comparing os.environ decodes every name and value.
    return os.environ._data  # type: ignore[attr-defined,no-any-return]


def _load(
    specs: Sequence[str],
) -> tuple[list[protocol.Manifest], dict[tuple[str, str], Target[..., Any]]]:
    manifests: list[protocol.Manifest] = []
    targets: dict[tuple[str, str], Target[..., Any]] = {}
    for spec in specs:
        repository, module = load_repository(spec)
        manifests.append(build_manifest(repository, module))
        for name, target in find_targets(module).items():
            targets[(repository, name)] = target
    return manifests, targets


def _prepare(targets: Iterable[Target[..., Any]]) -> None:
    """Do now what the first execution of each target would otherwise do first (resolve
    its annotations, import OpenTelemetry): the process is not yet ready, while an
    execution is waited for. A fresh executor's first execution took ~5 ms, not ~0.2."""
    for target in targets:
        target.prepare()
    tracing.prepare()


def _values(args: argparse.Namespace) -> serialization.ValueCodec:
    """The value codec: with the agent's blob store and cache, when it has one."""
    # Popped before user code is imported: executions need not see the token.
    token = os.environ.pop(blobs.TOKEN_ENV, None)
    allow_pickle = not args.no_pickle
    if args.blob_url is None or args.blob_cache is None:
        return serialization.ValueCodec(threshold=args.blob_threshold, allow_pickle=allow_pickle)
    cache = blobs.BlobCache(Path(args.blob_cache), args.blob_cache_size or blobs.DEFAULT_CACHE_SIZE)
    client = blobs.BlobClient(args.blob_url, token, cache)
    return serialization.ValueCodec(client, args.blob_threshold, allow_pickle=allow_pickle)


def _die_with_agent(connection: Connection, agent_pid: int | None) -> None:
    """Make the agent's death end this process even if the socket does not say so."""
    if agent_pid is None:
        return
    # A Python handler, not the default action: the connection ends as it does
    # when the socket closes (waiters fail, user code gets its grace).
    signal.signal(signal.SIGHUP, lambda signum, frame: connection.shut_down())
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGHUP, 0, 0, 0)

    def watch() -> None:
        # The portable way, and the one user code cannot disarm: re-parented
        # (to init or a sub-reaper) means the agent is gone.
        while os.getppid() == agent_pid:
            time.sleep(WATCHDOG_INTERVAL)
        connection.shut_down()

    threading.Thread(target=watch, name="coflux-executor-watchdog", daemon=True).start()


def _line_buffered() -> None:
    # Output should reach the pool (and the user's log view) as it is printed.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the executor process.

    Returns:
        The process's exit code: 0 after the socket closed, 1 if the
        repositories could not be imported.
    """
    parser = argparse.ArgumentParser(prog="coflux.agent.executor")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--repository", action="append", default=[])
    parser.add_argument("--blob-url", default=None)
    parser.add_argument("--blob-cache", default=None)
    parser.add_argument("--blob-cache-size", type=int, default=None)
    parser.add_argument("--blob-threshold", type=int, default=serialization.DEFAULT_THRESHOLD)
    parser.add_argument("--agent-pid", type=int, default=None)
    parser.add_argument("--no-pickle", action="store_true")
    args = parser.parse_args(argv)
    _line_buffered()
    values = _values(args)
    connection = Connection(socket.socket(fileno=args.fd), args.workdir)
    # Before the (possibly slow) import: the agent may die while it runs. Checked
    # after arming, too: the agent may have died before this process got here.
    _die_with_agent(connection, args.agent_pid)
    if args.agent_pid is not None and os.getppid() != args.agent_pid:
        return 1
    try:
        manifests, targets = _load(args.repository)
    except BaseException as e:  # importing user code can fail in any way
        connection.send(protocol.ExecutorFailed(error=error_info(e)))
        return 1
    # After the import: a repository's own logging.basicConfig() still takes effect.
    runtime.capture_standard_logging()
    _prepare(targets.values())
    # What the imports made lives as long as the process: out of the collector's
    # reach, a full collection walks only what executions made since (a repository
    # that imports a large library holds hundreds of thousands of objects, and each
    # full collection walked them all again, pausing the execution for tens of ms).
    gc.freeze()
    connection.send(protocol.ExecutorReady(manifests=tuple(manifests)))
    connection.start_reader()
    # ConnectionError: the agent went away while we were reporting.
    with contextlib.suppress(ConnectionError):
        Executor(connection, targets, args.workdir, values).serve()
    if connection.closed and args.workdir is not None:
        # A dead agent cannot remove it (a live one does so again, harmlessly).
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
