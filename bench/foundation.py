"""Foundation benchmarks: start-up times and the hello workflow's round trip.

Measures, on this machine, with the real server and agent as subprocesses:

- server start: from spawning `coflux server` to its API answering;
- agent start: from spawning `coflux agent` to its session being open;
- hello via the CLI: wall time of `coflux submit hello print_greeting '"Joe"' --wait`
  (includes starting the CLI's Python process);
- hello via the API: submit + wait for the result over HTTP, no process start-up.

Writes bench/results/foundation.json and bench/results/foundation.md.
Run with: bench/run foundation
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.cluster import EXAMPLES, Cluster, Process, Server, coflux_command  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def poll(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("benchmark step timed out")
        time.sleep(0.002)


def summary(samples: list[float], scale: float = 1.0) -> dict[str, float]:
    ordered = sorted(s * scale for s in samples)
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
        "min": round(ordered[0], 3),
    }


def server_start(workdir: Path, runs: int) -> list[float]:
    samples = []
    for index in range(runs):
        server = Server(workdir / f"server-{index}")
        started = time.perf_counter()
        server.start()
        samples.append(time.perf_counter() - started)
        server.stop()
    return samples


def agent_start(cluster: Cluster, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        command = coflux_command("agent", "--register", str(EXAMPLES / "hello.py"))
        agent = Process(command, cluster.env(), cluster.workdir)
        started = time.perf_counter()
        agent.start()
        poll(lambda a=agent: a.output.count("connected to") >= 1)
        samples.append(time.perf_counter() - started)
        agent.stop()
    return samples


def hello_cli(cluster: Cluster, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = cluster.cli("submit", "hello", "print_greeting", '"Joe"', "--wait")
        samples.append(time.perf_counter() - started)
        assert json.loads(done.stdout) == "Hello, Joe!", done.stderr
    return samples


def hello_api(cluster: Cluster, runs: int) -> list[float]:
    samples = []
    body = {
        "environment": "production", "repository": "hello", "target": "print_greeting",
        "arguments": [{"format": "json", "data": "Joe"}],
    }  # fmt: skip
    with httpx.Client(base_url=cluster.server.url, timeout=30) as client:
        for _ in range(runs):
            started = time.perf_counter()
            run_id = client.post("/api/projects/bench/runs", json=body).json()["run_id"]
            result = client.get(f"/api/projects/bench/runs/{run_id}/result", params={"wait": 30})
            samples.append(time.perf_counter() - started)
            assert result.json()["state"] == "succeeded", result.text
    return samples


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results: dict[str, object] = {"server_start_s": summary(server_start(workdir, 5))}
        cluster = Cluster(Server(workdir / "data").start(), workdir, project="bench")
        try:
            subprocess.run(
                coflux_command("projects", "create", "bench"),
                env=cluster.env(),
                check=True,
                capture_output=True,
            )
            subprocess.run(
                coflux_command("environments", "create", "production"),
                env=cluster.env(),
                check=True,
                capture_output=True,
            )
            results["agent_start_s"] = summary(agent_start(cluster, 5))
            cluster.start_agent(EXAMPLES / "hello.py")
            hello_api(cluster, 5)  # warm-up
            results["hello_api_ms"] = summary(hello_api(cluster, 50), 1000)
            results["hello_cli_s"] = summary(hello_cli(cluster, 10))
        finally:
            cluster.stop()
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": __import__("os").cpu_count(),
        "platform": platform.platform(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "foundation.json").write_text(json.dumps(results, indent=2) + "\n")
    rows = [
        ("server start (spawn → API answers)", "s", results["server_start_s"]),
        ("agent start (spawn → session open)", "s", results["agent_start_s"]),
        ("hello workflow via API (submit → result)", "ms", results["hello_api_ms"]),
        ("`coflux submit hello print_greeting --wait`", "s", results["hello_cli_s"]),
    ]
    lines = ["| measure | unit | median | p95 | min | n |", "| --- | --- | --- | --- | --- | --- |"]
    for label, unit, stats in rows:
        assert isinstance(stats, dict)
        lines.append(
            f"| {label} | {unit} | {stats['median']} | {stats['p95']} | {stats['min']} | {stats['n']} |"
        )
    (RESULTS / "foundation.md").write_text(
        "# Foundation benchmarks\n\nProduced by `bench/run foundation` "
        f"(Python {platform.python_version()}, {__import__('os').cpu_count()} CPUs).\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
