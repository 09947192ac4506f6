"""Measuring tools shared by the benchmarks: process-tree memory, percentiles,
waiting with a deadline, the machine's facts and the result files.

Memory is read from ``/proc`` (Linux only), so the benchmarks need nothing
beyond the project's own dependencies.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "bench" / "work"


# A workload shorter than this is timed again (up to MAX_RUNS times) and its median
# kept: this machine's noise moves a single reading of a half-second run by ±20%.
MEASURED_S = 2.0
MAX_RUNS = 5


def timed_runs(once: Callable[[], float]) -> list[float]:
    """Wall seconds of ``once()`` (which times itself), called until ``MEASURED_S``
    seconds were timed or ``MAX_RUNS`` calls were made, one at least. The same rule
    for ours and every peer, so a fast engine is not measured more often than
    a slow one for the same length of workload."""
    walls: list[float] = []
    while not walls or (sum(walls) < MEASURED_S and len(walls) < MAX_RUNS):
        walls.append(once())
    return walls


def poll(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.002) -> None:
    """Wait until ``predicate()`` is true; a short interval so waiting adds little to timings.

    Raises:
        TimeoutError: ``timeout`` seconds passed first.
    """
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("benchmark step timed out")
        time.sleep(interval)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (executors, their children), from /proc."""
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for task in Path(f"/proc/{parent}/task").iterdir():
                children = [int(c) for c in (task / "children").read_text().split()]
                found.extend(children)
                frontier.extend(children)
    return found


def status_kb(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` field in kB (VmRSS, VmHWM); 0 once the process is gone."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, now, in MB."""
    return sum(status_kb(p, "VmRSS") for p in descendants(pid)) / 1024


def _cpu_ticks(pid: int) -> tuple[int, int]:
    """(own, reaped children's) user + system clock ticks of a process; 0s once gone."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        # Fields after the command name, which may itself hold spaces or brackets.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
    return 0, 0


def tree_cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process tree: every process in it, and the children
    each of them reaped (a PostgreSQL backend that exited counts in its postmaster)."""
    return sum(sum(_cpu_ticks(p)) for p in descendants(pid)) / os.sysconf("SC_CLK_TCK")


def tree_pss_mb(pid: int) -> float:
    """Proportional set size of a process tree in MB: memory shared between its
    processes (PostgreSQL's shared buffers) is divided among them, not counted in each."""
    total = 0
    for p in descendants(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def cpu_seconds(server: int, agent: int) -> dict[str, float]:
    """CPU time used so far by the server's tree, the agent process and its executors.

    Executors that already exited count through the agent's reaped-children time.
    Taken before and after a run, the difference says where the run's time went.
    """
    tick = os.sysconf("SC_CLK_TCK")
    agent_own, agent_reaped = _cpu_ticks(agent)
    executors = [p for p in descendants(agent) if p != agent]
    server_ticks = sum(sum(_cpu_ticks(p)) for p in descendants(server))
    return {
        "server": server_ticks / tick,
        "agent": agent_own / tick,
        "executors": (agent_reaped + sum(sum(_cpu_ticks(p)) for p in executors)) / tick,
    }


class PeakRss:
    """Samples the RSS of process trees at ~20 Hz in a thread; keeps each tree's peak.

    A tree's RSS is the sum over its processes at one instant, so the peak counts
    executors that only live for part of the run. Shared pages are counted once per
    process, as RSS does: an upper bound of what the tree really holds.
    """

    def __init__(self, roots: dict[str, int], interval: float = 0.05) -> None:
        self.roots = roots
        self.interval = interval
        self.peaks = dict.fromkeys(roots, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            for role, pid in self.roots.items():
                self.peaks[role] = max(self.peaks[role], tree_rss_mb(pid))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peaks = {role: round(mb, 1) for role, mb in self.peaks.items()}


def _busy_and_total_ticks() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def settle(idle: float = 0.9, window: float = 0.5, timeout: float = 20.0) -> float:
    """Wait until the machine is idle (at least ``idle`` of the CPU time over ``window``
    seconds), at most ``timeout`` seconds; the idle fraction last seen.

    A workload that just ended can leave the machine busy for seconds (processes
    exiting, gigabytes of shared memory being freed): whatever is measured next
    would pay for it.
    """
    deadline = time.monotonic() + timeout
    while True:
        busy_before, total_before = _busy_and_total_ticks()
        time.sleep(window)
        busy_after, total_after = _busy_and_total_ticks()
        fraction = 1 - (busy_after - busy_before) / max(1, total_after - total_before)
        if fraction >= idle or time.monotonic() >= deadline:
            return fraction


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def distribution(samples: list[float], scale: float = 1.0, digits: int = 3) -> dict[str, float]:
    """p50/p95/p99, min, max and count of ``samples``, each multiplied by ``scale``."""
    scaled = [s * scale for s in samples]
    return {
        "n": len(scaled),
        "p50": round(percentile(scaled, 50), digits),
        "p95": round(percentile(scaled, 95), digits),
        "p99": round(percentile(scaled, 99), digits),
        "min": round(min(scaled), digits),
        "max": round(max(scaled), digits),
    }


def median(samples: list[float], digits: int = 3) -> float:
    return round(statistics.median(samples), digits)


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def machine() -> dict[str, Any]:
    """The facts needed to compare results: the machine, and the code that was measured."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "commit": _git("rev-parse", "--short", "HEAD"),
        # The engine may be measured with uncommitted changes under src/: say so.
        "src_modified": _git("status", "--porcelain", "--", "src") not in ("", "unknown"),
    }


def write(directory: Path, name: str, data: dict[str, Any], markdown: str) -> None:
    """Write ``NAME.json`` and ``NAME.md`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (directory / f"{name}.md").write_text(markdown)


def table(header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
