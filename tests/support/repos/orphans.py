"""Executions an agent can die under: blocked waiting for a result, or busy.

Each writes its process id to ``DIR/NAME.pid`` first, so a test can find the
executor processes and check that they do not outlive a killed agent. Each
also logs a line every 20 ms from a thread and counts them in ``DIR/NAME.ticks``:
so a test can make sure that the agent dies with messages from every executor
unread (a socket closed with unread data is reset, not just closed, for its peer).
"""

import contextvars
import os
import signal
import threading
import time
from pathlib import Path

import coflux as cf


def _pid_file(directory: str, name: str) -> None:
    path = Path(directory) / f"{name}.pid"
    path.with_suffix(".tmp").write_text(str(os.getpid()))
    path.with_suffix(".tmp").rename(path)  # whole, or not at all
    context = contextvars.copy_context()  # the execution's, for cf.log_info
    threading.Thread(target=context.run, args=(_chatter, directory, name), daemon=True).start()


def _chatter(directory: str, name: str) -> None:
    ticks = Path(directory) / f"{name}.ticks"
    for count in range(1, 1_000_000):
        cf.log_info("tick {count}", count=count)
        ticks.with_suffix(".tmp-ticks").write_text(str(count))
        ticks.with_suffix(".tmp-ticks").rename(ticks)
        time.sleep(0.02)


@cf.task
def doze(directory: str, name: str) -> None:
    """Asleep in user code."""
    _pid_file(directory, name)
    time.sleep(3600)


@cf.task
def spin(directory: str) -> None:
    """Computing in user code, deaf to SIGTERM: only an exit from inside, or SIGKILL, ends it."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _pid_file(directory, "spin")
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        sum(range(1000))


@cf.task
def waits(directory: str) -> None:
    """Blocked in ``.result()`` on a child that never ends (a branch of a nested fan-out)."""
    child = doze.submit(directory, "doze-child")
    _pid_file(directory, "waits")
    child.result()


@cf.workflow
def orphans(directory: str) -> None:
    """Blocked in ``.result()`` itself, over a waiting branch and two busy ones."""
    branches = [waits.submit(directory), spin.submit(directory), doze.submit(directory, "doze")]
    _pid_file(directory, "orphans")
    for branch in branches:
        branch.result()
