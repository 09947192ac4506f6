"""An agent killed with SIGKILL takes its executors with it, whatever they are doing."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually

NAMES = ("orphans", "waits", "doze-child", "spin", "doze")


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (PID 1 here may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def ticks(directory: Path, name: str) -> int:
    path = directory / f"{name}.ticks"
    return int(path.read_text()) if path.exists() else 0


def test_executors_blocked_or_busy_do_not_outlive_a_killed_agent(cluster: Cluster) -> None:
    pids_dir = cluster.workdir / "pids"
    pids_dir.mkdir()
    agent = cluster.start_agent(REPOS / "orphans.py")
    run_id = cluster.cli("submit", "orphans", "orphans", f'"{pids_dir}"').stdout.strip()
    assert run_id

    def started() -> dict[str, int] | None:
        files = {name: pids_dir / f"{name}.pid" for name in NAMES}
        if not all(f.exists() for f in files.values()):
            return None
        return {name: int(f.read_text()) for name, f in files.items()}

    pids = eventually(started, 30, message=f"executions to start\n{agent.output.text()}")
    assert all(alive(pid) for pid in pids.values())
    # Stopped first, the agent dies with unread messages from every executor: then
    # their sockets are reset (ECONNRESET), not closed, which is easy to miss.
    os.kill(agent.popen.pid, signal.SIGSTOP)
    stopped_at = {name: ticks(pids_dir, name) for name in NAMES}
    eventually(
        lambda: all(ticks(pids_dir, name) >= stopped_at[name] + 2 for name in NAMES),
        15,
        message="executors to log while the agent is stopped",
    )
    agent.kill9()
    # Two executions wait in .result(), two sleep and one computes (and ignores
    # SIGTERM): each of their processes must end on its own, within seconds.
    eventually(
        lambda: not [name for name, pid in pids.items() if alive(pid)],
        15,
        message=f"executors to exit: {[n for n, p in pids.items() if alive(p)]}",
    )
