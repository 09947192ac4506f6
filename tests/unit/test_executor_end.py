"""The executor process and its agent: long waits are reported, and the agent's
end (its socket closing, or the agent dying unnoticed) ends the executor."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from coflux import protocol
from coflux.agent.executor import BLOCKED_AFTER, HEADER, Connection, _Reply
from tests.support.cluster import REPOS
from tests.support.eventually import eventually

RESULT = protocol.ResultReady(request_id=1, execution_id="r:2:1", outcome=protocol.Cancelled())


def read_message(sock: socket.socket) -> protocol.ExecutorMessage:
    file = sock.makefile("rb")
    (length,) = HEADER.unpack(file.read(HEADER.size))
    return protocol.decode_executor_message(file.read(length))


def test_a_long_wait_is_reported_blocked_then_resumed_and_a_short_one_not() -> None:
    agent_end, executor_end = socket.socketpair()
    with agent_end, executor_end:
        connection = Connection(executor_end)
        connection.begin("r:1:1")
        quick = _Reply(connection)
        quick.resolve(RESULT)
        assert quick.wait(None) == RESULT
        agent_end.settimeout(BLOCKED_AFTER * 20)
        with pytest.raises(TimeoutError):
            agent_end.recv(1)  # nothing was said about a wait that never happened
        agent_end.settimeout(10)
        slow = _Reply(connection)
        waiter = threading.Thread(target=slow.wait, args=(None,))
        waiter.start()
        assert read_message(agent_end) == protocol.Blocked(execution_id="r:1:1", blocked=True)
        slow.resolve(RESULT)
        waiter.join(10)
        assert read_message(agent_end) == protocol.Blocked(execution_id="r:1:1", blocked=False)


def test_a_wait_that_outlives_its_execution_reports_nothing_more() -> None:
    agent_end, executor_end = socket.socketpair()
    with agent_end, executor_end:
        connection = Connection(executor_end)
        connection.begin("r:1:1")
        reply = _Reply(connection)
        waiter = threading.Thread(target=reply.wait, args=(None,))
        waiter.start()
        agent_end.settimeout(10)
        assert read_message(agent_end) == protocol.Blocked(execution_id="r:1:1", blocked=True)
        connection.end()  # the execution returned; a thread of it still waits
        connection.begin("r:3:1")
        reply.resolve(RESULT)
        waiter.join(10)
        connection.send(protocol.Checkpoint(execution_id="r:3:1", arguments=()))
        assert isinstance(read_message(agent_end), protocol.Checkpoint)  # the next thing said


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


AGENT = """
import os, socket, subprocess, sys, time
from pathlib import Path
from coflux import protocol, serialization
from coflux.agent.executor import HEADER
pids, workdir, repository = sys.argv[1:]
agent_end, executor_end = socket.socketpair()
executor = subprocess.Popen(
    [sys.executable, "-m", "coflux.agent.executor", "--fd", str(executor_end.fileno()),
     "--agent-pid", str(os.getpid()), "--workdir", workdir, "--repository", repository],
    pass_fds=(executor_end.fileno(),), start_new_session=True,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
# Another process holds this end open: the executor never sees its socket close.
holder = subprocess.Popen(
    ["sleep", "600"], pass_fds=(agent_end.fileno(),), start_new_session=True,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
print(executor.pid, holder.pid, flush=True)
file = agent_end.makefile("rb")
file.read(HEADER.unpack(file.read(HEADER.size))[0])  # ExecutorReady
dump = serialization.ValueCodec().dump
execute = protocol.Execute("r:1:1", "r", "r:1", 1, "orphans", "doze", (dump(pids), dump("doze")))
payload = protocol.encode_msgpack(execute)
agent_end.sendall(HEADER.pack(len(payload)) + payload)
deadline = time.monotonic() + 30
while not (Path(pids) / "doze.pid").exists() and time.monotonic() < deadline:
    time.sleep(0.02)
os._exit(0)  # dies, closing nothing the holder has
"""


def test_an_agent_that_dies_unnoticed_still_ends_its_busy_executor(tmp_path: Path) -> None:
    workdir = tmp_path / "executor"
    workdir.mkdir()
    agent = subprocess.run(
        [sys.executable, "-c", AGENT, str(tmp_path), str(workdir), str(REPOS / "orphans.py")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    executor_pid, holder_pid = map(int, agent.stdout.split())
    try:
        assert (tmp_path / "doze.pid").read_text() == str(executor_pid), agent.stderr
        eventually(lambda: gone(executor_pid), 15, message="the executor to exit")
        assert not workdir.exists()  # removed by the executor: nobody else can
    finally:
        for pid in (executor_pid, holder_pid):
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


WATCHED = """
import os, socket, sys, time
from coflux.agent import executor
agent_end, executor_end = socket.socketpair()
connection = executor.Connection(executor_end)
connection.start_reader()
connection.begin("r:1:1")
reply = connection.request(
    lambda i: executor.protocol.GetResult(request_id=i, execution_id="r:2:1", from_execution_id="r:1:1")
)
executor._die_with_agent(connection, os.getppid() + 1_000_000)  # as if re-parented
try:
    reply.wait(None)
except ConnectionError:
    print("the wait failed", flush=True)
while True:  # user code that goes on computing, deaf to what happened
    sum(range(1000))
"""


def test_the_watchdog_fails_waits_and_ends_user_code_that_goes_on() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WATCHED],
        capture_output=True, text=True, timeout=60, start_new_session=True,
    )  # fmt: skip
    assert done.stdout == "the wait failed\n", done.stderr
    assert done.returncode == -signal.SIGKILL  # its process group, after the grace
