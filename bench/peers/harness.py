"""The peer side of the benchmark: runs one peer's workloads inside that peer's venv.

Started by the runner (``bench/peers/__main__.py``) as

    VENV/bin/python bench/peers/harness.py PEER fanout 10000
    VENV/bin/python bench/peers/harness.py PEER chain 200
    VENV/bin/python bench/peers/harness.py PEER cold

and prints one JSON line on stdout. It imports nothing from Coflux (the peer's
venv does not have it) and nothing beyond the standard library, the peer and
``bench/measure.py`` (standard library only), whose rule for repeating short
workloads it shares with ours.

Every peer module (``ray_peer``, ``celery_peer``, ...) has a ``start()`` context
manager that brings the peer up (cluster, workers, server) and yields a session
with the same three workloads as ours, written the way that peer's users would:

- ``fanout(n)``: submit ``n`` trivial tasks (each returns its argument) one by
  one, then wait for them all; returns their results;
- ``chain(n)``: ``n`` trivial tasks one after another, each given the previous
  result; returns the last;
- ``hello(name)``: the hello workflow (a greeting task, then a task counting its
  letters submitted on the side); returns the greeting.

``fanout`` and ``chain`` bring the peer up, warm it (a fan-out of 100, as ours
gets), then time the workload alone (bring-up excluded). One workload per process,
as ours gets a fresh server per workload: a peer that records asynchronously
(Prefect) would otherwise make the next workload pay for the previous one's
backlog. ``cold`` is timed by the runner from the
process's spawn to the moment the hello result is printed here, so it includes the
interpreter's start, imports and bring-up, but not the tear-down after.
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for measure

from measure import timed_runs

WARM_UP = 100  # as ours (bench/engine.py): a steady state before measuring


def _fanout(session: Any, n: int) -> dict[str, Any]:
    def once() -> float:
        started = time.perf_counter()
        results = session.fanout(n)
        wall = time.perf_counter() - started
        if sum(results) != n * (n - 1) // 2:
            raise RuntimeError(f"fan-out of {n} returned wrong results")
        return wall

    walls = timed_runs(once)
    wall = statistics.median(walls)
    return {"n": n, "wall_s": round(wall, 3), "tasks_per_s": round(n / wall, 1), "runs": len(walls)}


def _chain(session: Any, n: int) -> dict[str, Any]:
    def once() -> float:
        started = time.perf_counter()
        last = session.chain(n)
        wall = time.perf_counter() - started
        if last != n:
            raise RuntimeError(f"chain of {n} ended with {last!r}")
        return wall

    walls = timed_runs(once)
    wall = statistics.median(walls)
    return {
        "n": n,
        "wall_s": round(wall, 3),
        "ms_per_step": round(wall / n * 1000, 3),
        "runs": len(walls),
    }


def warm(peer: Any, workload: str, n: int) -> dict[str, Any]:
    measure = {"fanout": _fanout, "chain": _chain}[workload]
    with peer.start() as session:
        session.fanout(WARM_UP)
        return measure(session, n)


def cold(peer: Any) -> None:
    with peer.start() as session:
        greeting = session.hello("Joe")
        # Printed before the tear-down, which the measure excludes.
        print(json.dumps({"result": greeting, "result_at": time.time()}), flush=True)


def main() -> None:
    name, workload = sys.argv[1], sys.argv[2]
    peer = importlib.import_module(f"{name}_peer")
    if workload == "cold":
        cold(peer)
        return
    result = warm(peer, workload, int(sys.argv[3]))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
