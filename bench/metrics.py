"""Metrics benchmark: the task time that recording 10,000 metric points costs.

A fresh server and one agent (as subprocesses) run ``bench_metrics.measure(kind,
10000)`` a few times per kind; the task measures its own loop with
``time.perf_counter``, so the numbers are task time (what a user's code waits),
not the time the points take to reach the server:

    none          the same loop, recording nothing (the baseline)
    throttled     ``Metric.record(step)`` at the default throttle (10 points/s: almost
                  every point replaced by the next, the last one kept)
    unthrottled   ``Metric.record(step, at=step)`` with ``throttle=None`` (every point
                  sent: 10,000 points to the server)
    progress      ``for _ in cf.progress(range(10000))``

For each kind it also reports how many points the server stored, read from the API
once the run has ended (so the points sent in the background did arrive). The
issue's bound: recording 10,000 points costs under 50 ms of task time.

Writes bench/results/metrics.json and bench/results/metrics.md.
Run with: bench/run metrics
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.cluster import Cluster, Server  # noqa: E402

RESULTS = ROOT / "bench" / "results"
REPOS = ROOT / "bench" / "repos"
POINTS = 10_000
RUNS = 7  # per kind; the first is a warm-up and not counted
KINDS = ["none", "throttled", "unthrottled", "progress"]
BOUND_MS = 50.0


def run(client: httpx.Client, kind: str) -> tuple[float, int]:
    """One run of the task: its own seconds, and the points the server stored."""
    body = {
        "environment": "production", "repository": "bench_metrics", "target": "measure",
        "arguments": [{"format": "json", "data": kind}, {"format": "json", "data": POINTS}],
    }  # fmt: skip
    run_id = client.post("/api/projects/bench/runs", json=body).json()["run_id"]
    while True:
        answer = client.get(f"/api/projects/bench/runs/{run_id}/result", params={"wait": 60})
        outcome = answer.json()["outcome"]
        if outcome is not None:
            break
    assert outcome["tag"] == "succeeded", outcome
    stored = sum(
        m["count"] for m in client.get(f"/api/projects/bench/runs/{run_id}/metrics").json()
    )
    return float(outcome["value"]["data"]), stored


def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cluster = Cluster(Server(workdir / "data").start(), workdir, project="bench")
        try:
            assert cluster.cli("projects", "create", "bench").returncode == 0
            assert cluster.cli("environments", "create", "production").returncode == 0
            cluster.start_agent(REPOS / "bench_metrics.py")
            results: dict[str, Any] = {}
            with httpx.Client(base_url=cluster.server.url, timeout=120) as client:
                for kind in KINDS:
                    samples = [run(client, kind) for _ in range(RUNS)][1:]
                    task_ms = sorted(seconds * 1000 for seconds, _ in samples)
                    results[kind] = {
                        "task_ms": {
                            "median": round(statistics.median(task_ms), 2),
                            "max": round(task_ms[-1], 2),
                            "min": round(task_ms[0], 2),
                            "n": len(task_ms),
                        },
                        "per_point_us": round(statistics.median(task_ms) * 1000 / POINTS, 2),
                        "stored_points": sorted({stored for _, stored in samples}),
                    }
        finally:
            cluster.stop()
    return results


def commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main() -> None:
    results: dict[str, Any] = {
        "points": POINTS,
        "kinds": measure(),
        "commit": commit(),
        "date": dt.date.today().isoformat(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    baseline = results["kinds"]["none"]["task_ms"]["median"]
    lines = [
        "| recording | task time (ms, median) | max | over the bare loop (ms) | per point (µs) | points stored |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind, found in results["kinds"].items():
        task = found["task_ms"]
        extra = "-" if kind == "none" else f"{task['median'] - baseline:.2f}"
        stored = ", ".join(str(s) for s in found["stored_points"])
        lines.append(
            f"| {kind} | {task['median']} | {task['max']} | {extra} | {found['per_point_us']} | {stored} |"
        )
    (RESULTS / "metrics.md").write_text(
        "# Metrics benchmark\n\nProduced by `bench/run metrics` "
        f"(commit {results['commit']}, {results['date']}; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs). A task records {POINTS:,} points in a tight loop and times "
        "the loop itself (see `bench/metrics.py`); each row is the median of "
        f"{RUNS - 1} runs after a warm-up. The bound the SDK is held to: under "
        f"{BOUND_MS:g} ms of task time for {POINTS:,} points.\n\n" + "\n".join(lines) + "\n"
    )
    print("\n".join(lines))
    worst = max(k["task_ms"]["median"] for name, k in results["kinds"].items() if name != "none")
    print(f"worst median: {worst} ms (bound {BOUND_MS:g} ms)")


if __name__ == "__main__":
    main()
