"""The executor process's own parts: pending replies, and the end of an execution's output."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from coflux import protocol
from coflux.agent.executor import _Reply

SUBMITTED = protocol.Submitted(request_id=1, execution_id="r:2:1")


def test_a_wait_times_out_with_none_until_the_reply_comes() -> None:
    reply = _Reply()
    assert reply.wait(0.01) is None
    assert reply.wait(0) is None
    reply.resolve(SUBMITTED)
    assert reply.wait(0) == SUBMITTED
    assert reply.wait(None) == SUBMITTED  # any number of times


def test_every_waiting_thread_gets_the_reply() -> None:
    reply = _Reply()
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(reply.wait(5))) for _ in range(4)]
    for thread in threads:
        thread.start()
    reply.resolve(SUBMITTED)
    for thread in threads:
        thread.join(5)
    assert got == [SUBMITTED] * 4


def test_a_closed_connection_fails_the_wait_and_a_late_reply_changes_nothing() -> None:
    reply = _Reply()
    reply.close()
    with pytest.raises(ConnectionError):
        reply.wait(None)
    reply.resolve(SUBMITTED)
    with pytest.raises(ConnectionError):
        reply.wait(0)


def test_only_pipes_holding_unread_output_get_an_end_marker() -> None:
    # In a child process: it replaces its own fds 1 and 2 with pipes.
    script = """
import os, sys
from coflux.agent.executor import Executor, OUTPUT_END
real_stdout = os.dup(1)
out_r, out_w = os.pipe(); err_r, err_w = os.pipe()
os.dup2(out_w, 1); os.dup2(err_w, 2)
executor = Executor(None, {}, None)
results = [executor._end_output("E1")]  # nothing written: nothing to mark
os.write(1, b"unread")
results.append(executor._end_output("E2"))
marked = os.read(out_r, 1000) == b"unread" + OUTPUT_END + b"E2\\n"
os.write(2, b"x\\n"); os.read(err_r, 100)  # written and already read
results.append(executor._end_output("E3"))
os.write(real_stdout, f"{results} {marked}".encode())
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.strip() == "[(), ('stdout',), ()] True"
