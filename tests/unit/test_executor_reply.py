"""The executor's pending replies: what calls inside an execution wait on."""

from __future__ import annotations

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
