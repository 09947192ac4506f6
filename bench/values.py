"""Values benchmark: time and peak memory to pass 1 MB, 50 MB and 200 MB results between tasks.

For each size, a fresh server and two agents (as subprocesses) run
``bench_consumer.transfer(size)``:

    make(size)       on agent 1: returns ``size`` bytes (uploaded to the blob store)
    transfer         on agent 2: receives them (downloaded once into agent 2's cache),
                     passes them on as an argument (same content: nothing re-uploaded)
    consume(data)    on agent 1: receives them (from agent 1's cache) and hashes them

Measured:

- wall time from submitting the run (over the API) to its result;
- each step's own time (assigned -> completed, from the run's record): it includes
  serialising and uploading (``make``) or downloading and deserialising (``consume``,
  ``transfer``), plus the task's own work (making the bytes, hashing them);
- the peak resident memory (VmHWM) of every process involved: the server, each
  agent, and each agent's executor processes (the largest one per agent), with
  their resident memory before the run. "Extra" is peak minus the size itself
  minus the process's idle memory: what moving the value cost beyond holding it.

Writes bench/results/values.json and bench/results/values.md.
Run with: bench/run values
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.cluster import Cluster, Process, Server  # noqa: E402

RESULTS = ROOT / "bench" / "results"
REPOS = ROOT / "bench" / "repos"
MB = 1024 * 1024
SIZES = [1 * MB, 50 * MB, 200 * MB]


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def processes(cluster: Cluster, agents: list[Process]) -> dict[str, list[int]]:
    assert cluster.server.process is not None
    roles = {"server": [cluster.server.process.popen.pid]}
    for number, agent in enumerate(agents, start=1):
        # `python -m coflux agent` is the agent; its children are its executors.
        roles[f"agent {number}"] = [agent.popen.pid]
        roles[f"agent {number} executors"] = children(agent.popen.pid)
    return roles


def memory(roles: dict[str, list[int]], field: str) -> dict[str, int]:
    """The largest value of ``field`` (kB) among each role's processes, in MB."""
    result = {}
    for role, pids in roles.items():
        values = []
        for pid in pids:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # it exited
                values.append(status_kb(pid, field))
        result[role] = round(max(values, default=0) / 1024, 1)
    return result


def run_once(size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cluster = Cluster(Server(workdir / "data").start(), workdir, project="bench")
        try:
            assert cluster.cli("projects", "create", "bench").returncode == 0
            assert cluster.cli("environments", "create", "production").returncode == 0
            agents = [
                cluster.start_agent(REPOS / "bench_producer.py"),
                cluster.start_agent(REPOS / "bench_consumer.py"),
            ]
            time.sleep(1.0)  # let the warm executors finish starting
            roles = processes(cluster, agents)
            idle = memory(roles, "VmRSS")
            body = {
                "environment": "production", "repository": "bench_consumer",
                "target": "transfer", "arguments": [{"format": "json", "data": size}],
            }  # fmt: skip
            with httpx.Client(base_url=cluster.server.url, timeout=600) as client:
                started = time.perf_counter()
                run_id = client.post("/api/projects/bench/runs", json=body).json()["run_id"]
                while True:
                    answer = client.get(
                        f"/api/projects/bench/runs/{run_id}/result", params={"wait": 60}
                    ).json()
                    if answer["outcome"] is not None:
                        break
                wall = time.perf_counter() - started
                run = client.get(f"/api/projects/bench/runs/{run_id}").json()
            after = processes(cluster, agents)  # executors started meanwhile count too
            peak = memory({r: sorted({*roles[r], *after[r]}) for r in roles}, "VmHWM")
        finally:
            cluster.stop()
    outcome = answer["outcome"]
    assert outcome["tag"] == "succeeded", outcome
    steps = {}
    for step in run["steps"]:
        execution = step["executions"][-1]
        steps[step["target"]] = round(execution["completed_at"] - execution["assigned_at"], 3)
    size_mb = size / MB
    return {
        "size_mb": size_mb,
        "wall_s": round(wall, 3),
        "step_s": steps,
        "idle_rss_mb": idle,
        "peak_rss_mb": peak,
        "extra_mb": {
            role: round(peak[role] - idle.get(role, 0) - (size_mb if "executors" in role else 0), 1)
            for role in peak
        },
    }


def main() -> None:
    results: dict[str, Any] = {"runs": [run_once(size) for size in SIZES]}
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "values.json").write_text(json.dumps(results, indent=2) + "\n")
    roles = list(results["runs"][0]["peak_rss_mb"])
    header = "| size | wall (s) | make (s) | transfer (s) | consume (s) | " + " | ".join(
        f"{role} peak RSS (MB)" for role in roles
    )
    lines = [header + " |", "|" + " --- |" * (5 + len(roles))]
    for run in results["runs"]:
        steps = run["step_s"]
        cells = [
            f"{run['size_mb']:g} MB", str(run["wall_s"]), str(steps.get("make")),
            str(steps.get("transfer")), str(steps.get("consume")),
        ]  # fmt: skip
        cells += [f"{run['peak_rss_mb'][r]} (+{run['extra_mb'][r]})" for r in roles]
        lines.append("| " + " | ".join(cells) + " |")
    (RESULTS / "values.md").write_text(
        "# Values benchmark\n\nProduced by `bench/run values` "
        f"(Python {platform.python_version()}, {os.cpu_count()} CPUs). "
        "A result of each size goes `make` (agent 1) -> `transfer` (agent 2) -> "
        "`consume` (agent 1); see `bench/values.py`. Step times include the task's own work "
        "(making or hashing the bytes). Peak RSS is each process's high-water mark "
        "(for executors: the largest executor of the agent); in brackets, the extra "
        "over its idle memory and, for executors, over the value itself.\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
