"""Engine benchmarks: our overhead per step, through the real server, agent and API.

Each workload is its own function and starts its own server and agent
(``ours.Engine``: durable SQLite in a fresh data directory, or with ``--store
postgres`` a fresh database in a durable PostgreSQL cluster: ``stores.py``), so
any one can be run alone:

- ``fanout``: a workflow submits N trivial steps and waits for them all
  (N = 1,000 and 10,000): wall time from the run's submission to its result,
  tasks/s, peak RSS of the server's and the agent's process trees (sampled at 20 Hz).
- ``prefetch``: the fan-out of 10,000 again with ``coflux agent --prefetch 8``
  (``docs/semantics.md``, "Prefetch": the agent holds 8 executions beyond its
  concurrency, so a slot is refilled without waiting for a commit).
- ``chain``: a workflow calls 200 trivial steps one after another: ms per step.
- ``dispatch``: ready -> started latency of 1,000 steps, run one at a time while
  another run submits ~100 steps/s. "Ready" is the step's recorded ``created_at``
  (``coflux runs inspect --json``), "started" the time the task function itself
  returns (taken at its entry). Also caller -> started and assigned -> started.
  An unmeasured probe of 50 steps under the load comes first (the pool's spare
  executors start then, not during the samples).
- ``cold``: from nothing to the hello workflow's first result: server start, API
  answering, project and environment created, agent start (registered, connected),
  then ``coflux submit hello print_greeting '"Joe"' --wait``. Median of 5.
- ``fsync``: the fan-out of 10,000 and the chain again with ``coflux server
  --fsync`` (SQLite fsyncs every commit), what durability across power loss costs.
- ``store``: the store alone: a fan-out's facts (each step created and
  assigned in one batch, completed in another, 64 steps a batch, as the
  orchestrator's group commit makes them) appended to a fresh store: µs per step,
  median of 5; then 1,000 steps one a batch (as a chain commits): ms per append.
  No server: what recording a step costs, apart from the rest.
- ``history``: 100,000 steps recorded as ten 10,000-step fan-outs; at 10k, 50k
  and 100k steps: server RSS, and the time of ``runs list`` and of ``runs inspect``
  of the first 10,000-step run (the ``coflux`` command, and the API call alone).

On PostgreSQL (``--store postgres``, or ``--store sqlite,postgres`` for both in
one run, each workload on SQLite and right after on PostgreSQL) the fanout, chain,
dispatch, history and store workloads run, into sections named ``fanout_postgres``
and so on; the fan-out, the chain and the store also report the PostgreSQL
cluster's CPU seconds and the WAL it wrote per 1,000 steps, and history its
database's size. ``fsync`` is SQLite's option and ``cold`` starts its own server:
they run on SQLite only.

Run with ``bench/run engine [--only fanout,chain] [--store sqlite,postgres]
[--quick]``. A full run writes bench/results/engine.json and .md (a subset updates
only its own sections); a ``--quick`` run (smaller N, for iterating) writes to
bench/work/results/ instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

# Run as a script: our sibling modules, and the repository root for tests.support.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import engine_report  # noqa: E402
from measure import (  # noqa: E402
    RESULTS,
    WORK,
    PeakRss,
    cpu_seconds,
    distribution,
    machine,
    median,
    poll,
    settle,
    status_kb,
    timed_runs,
)
from ours import PROJECT, Engine  # noqa: E402
from stores import SqliteStore, Store, open_stores  # noqa: E402
from tests.store import facts  # noqa: E402
from tests.support.cluster import EXAMPLES, Process, base_env, coflux_command, free_port  # noqa: E402

from coflux.orchestration.states import ExecutionState  # noqa: E402

# Full and --quick sizes of every workload.
SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "fanout": [1_000, 10_000], "prefetch": [10_000], "chain": 200, "dispatch": (1_000, 100.0), "cold": 5,
        "history": (10_000, 10, [1, 5, 10]), "fsync": (10_000, 200), "store": 10_000,
    },
    "quick": {
        "fanout": [100, 1_000], "prefetch": [1_000], "chain": 50, "dispatch": (200, 100.0), "cold": 2,
        "history": (1_000, 10, [1, 5, 10]), "fsync": (1_000, 50), "store": 1_000,
    },
}  # fmt: skip
WARM_UP = 100  # steps run once before measuring: every code path used, every executor started
SQLITE = SqliteStore()
# The workloads that run on every store; the others measure SQLite (or their own server).
PREFETCH = ("--prefetch", "8")  # the ``prefetch`` workload's agent
PROBE_WARM_UP = 50  # the dispatch workload's unmeasured first probe, under the load
ON_EVERY_STORE = ("fanout", "prefetch", "chain", "dispatch", "history", "store")


def _store_cost(before: dict[str, float], after: dict[str, float], runs: int, steps: int) -> dict[str, float]:  # fmt: skip
    """The store's own CPU and WAL between two ``Store.usage`` readings (PostgreSQL's;
    empty for SQLite, which is inside the server's CPU already)."""
    if not before:
        return {}
    cpu, wal = after["cpu_s"] - before["cpu_s"], after["wal_bytes"] - before["wal_bytes"]
    return {
        "cpu_s_per_run": round(cpu / runs, 3),
        "cpu_s_per_1000_steps": round(cpu / steps * 1000, 3),
        "wal_bytes_per_1000_steps": round(wal / steps * 1000),
        "wal_mb_per_run": round(wal / runs / 2**20, 2),
    }


def fanout(
    n: int,
    server_args: tuple[str, ...] = (),
    store: Store = SQLITE,
    agent_args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One workflow submits ``n`` echo steps, then waits for every result (the median
    of ``timed_runs``; CPU seconds per run, peak RSS over them all)."""
    run_ids: list[str] = []

    def once() -> float:
        wall, run_id = engine.run("fanout", n)
        run_ids.append(run_id)
        return wall

    with store.engine(server_args, agent_args) as engine:
        engine.run("fanout", WARM_UP)
        before, stored_before = cpu_seconds(**engine.pids), store.usage()
        with PeakRss(engine.pids) as rss:
            walls = timed_runs(once)
        after, stored_after = cpu_seconds(**engine.pids), store.usage()
        recorded = engine.api.get(f"/api/projects/{PROJECT}/runs/{run_ids[-1]}").json()["steps"]
    succeeded = sum(s["executions"][-1]["state"] == "succeeded" for s in recorded)
    wall = statistics.median(walls)
    # Each run records n + 1 steps: the workflow's own, and its n children.
    database = _store_cost(stored_before, stored_after, len(walls), len(walls) * (n + 1))
    return {
        "n": n,
        "wall_s": round(wall, 3),
        "tasks_per_s": round(n / wall, 1),
        "runs": len(walls),
        "peak_rss_mb": rss.peaks,
        # Where the time went: CPU seconds each part used, per run.
        "cpu_s": {role: round((after[role] - before[role]) / len(walls), 2) for role in after},
        # Read back from the store after the last run: every step is durably recorded.
        "recorded_steps": len(recorded),
        "succeeded_steps": succeeded,
        **({"database": database} if database else {}),
    }


def chain(n: int, server_args: tuple[str, ...] = (), store: Store = SQLITE) -> dict[str, Any]:
    """One workflow calls ``n`` echo steps sequentially: wall time / ``n`` per step
    (the median of ``timed_runs``)."""
    with store.engine(server_args) as engine:
        engine.run("chain", WARM_UP)
        stored_before = store.usage()
        walls = timed_runs(lambda: engine.run("chain", n)[0])
        stored_after = store.usage()
    wall = statistics.median(walls)
    database = _store_cost(stored_before, stored_after, len(walls), len(walls) * (n + 1))
    return {
        "n": n,
        "wall_s": round(wall, 3),
        "ms_per_step": round(wall / n * 1000, 3),
        "runs": len(walls),
        **({"database": database} if database else {}),
    }


def fsync(sizes: tuple[int, int]) -> dict[str, Any]:
    """The fan-out and the chain again, with `coflux server --fsync` (every commit fsynced)."""
    fanout_n, chain_n = sizes
    return {"fanout": fanout(fanout_n, ("--fsync",)), "chain": chain(chain_n, ("--fsync",))}


def _probe_samples(run: dict[str, Any]) -> dict[str, list[float]]:
    """Per stamp step, from its record: ready, assigned and caller times vs its start."""
    samples: dict[str, list[float]] = {"ready": [], "assigned": [], "called": []}
    for step in run["steps"]:
        if step["target"] != "stamp":
            continue
        execution = step["executions"][-1]
        started = execution["outcome"]["value"]["data"]  # time.time() at the task's entry
        samples["ready"].append(started - execution["created_at"])
        samples["assigned"].append(started - execution["assigned_at"])
        samples["called"].append(started - step["arguments"][0]["data"])
    return samples


def _load_rate(run: dict[str, Any], since: float, until: float) -> float:
    """Steps per second the load run actually created between ``since`` and ``until``."""
    created = [s["created_at"] for s in run["steps"] if s["target"] == "echo"]
    return round(sum(since <= float(t) <= until for t in created) / (until - since), 1)


def dispatch(samples: int, rate: float, store: Store = SQLITE) -> dict[str, Any]:
    """Ready -> started latency of ``samples`` steps under ``rate`` steps/s of load."""
    with store.engine() as engine:
        engine.run("fanout", WARM_UP)
        # The load runs far longer than the probe needs and is cancelled after it.
        load_id = engine.submit("load", rate, 3600.0)
        time.sleep(1.0)  # let the load reach its rate before sampling
        # A first, unmeasured probe: the pool starts spare executors when the probe's
        # workflow takes one, and their start-up would otherwise compete with the
        # first samples (steady state is what is measured).
        engine.run("probe", PROBE_WARM_UP)
        since = time.time()
        wall, probe_id = engine.run("probe", samples)
        until = time.time()
        engine.cancel(load_id)
        probe, load = engine.inspect(probe_id), engine.inspect(load_id)
    latencies = _probe_samples(probe)
    return {
        "samples": len(latencies["ready"]),
        "probe_wall_s": round(wall, 3),
        "load_steps_per_s": _load_rate(load, since, until),
        "ready_to_start_ms": distribution(latencies["ready"], 1000),
        "assigned_to_start_ms": distribution(latencies["assigned"], 1000),
        "call_to_start_ms": distribution(latencies["called"], 1000),
    }


def _cold_once(workdir: Path) -> dict[str, float]:
    """One cold start, phase by phase (seconds since the server was spawned)."""
    port = free_port()
    url, env = f"http://127.0.0.1:{port}", base_env()
    server_args = ["server", "--port", str(port), "--data-dir", str(workdir / "data")]
    server = Process(coflux_command(*server_args), env, workdir)
    agent: Process | None = None
    phases: dict[str, float] = {}
    started = time.perf_counter()
    server.start()
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            poll(lambda: _answers(client, server), timeout=30)
            phases["server_ready"] = time.perf_counter() - started
            client.post("/api/projects", json={"name": PROJECT}).raise_for_status()
            environments = f"/api/projects/{PROJECT}/environments"
            client.post(environments, json={"name": "production"}).raise_for_status()
        env.update(COFLUX_HOST=f"127.0.0.1:{port}", COFLUX_PROJECT=PROJECT)
        env["COFLUX_ENVIRONMENT"] = "production"
        hello = str(EXAMPLES / "hello.py")
        agent = Process(coflux_command("agent", "--register", hello), env, workdir)
        agent.start()
        poll(lambda: _connected(agent), timeout=30)
        phases["agent_connected"] = time.perf_counter() - started
        submit = coflux_command("submit", "hello", "print_greeting", '"Joe"', "--wait")
        done = subprocess.run(submit, env=env, cwd=workdir, capture_output=True, text=True)
        phases["first_result"] = time.perf_counter() - started
        if done.returncode != 0 or json.loads(done.stdout) != "Hello, Joe!":
            raise RuntimeError(f"hello failed: {done.stdout!r} {done.stderr[-2000:]}")
    finally:
        for process in (agent, server):
            if process is not None:
                process.stop()
    return {name: round(seconds, 3) for name, seconds in phases.items()}


def _answers(client: httpx.Client, server: Process) -> bool:
    if server.popen.poll() is not None:
        raise RuntimeError(f"server exited:\n{server.output.text()}")
    try:
        return client.get("/api/projects").status_code == 200
    except httpx.TransportError:
        return False


def _connected(agent: Process) -> bool:
    if agent.popen.poll() is not None:
        raise RuntimeError(f"agent exited:\n{agent.output.text()}")
    return agent.output.count("connected to") >= 1


def cold(runs: int) -> dict[str, Any]:
    """Median over ``runs`` cold starts, each in a fresh data directory."""
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="coflux-cold-") as tmp:
            samples.append(_cold_once(Path(tmp)))
    return {
        "runs": runs,
        "first_result_s": median([s["first_result"] for s in samples]),
        "phases_median_s": {name: median([s[name] for s in samples]) for name in samples[0]},
        "samples": samples,
    }


def _timed(action: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``action`` over ``repeat`` calls, in ms."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1)


def _scheduled(first: int, count: int) -> list[Any]:
    """Steps of run R created and assigned, as a fan-out's batch has them."""
    return [
        fact
        for k in range(first, first + count)
        for fact in (*facts.step("R", k, facts.T0, parent="R:1:1", call_index=k),
                     facts.transition(f"R:{k}:1", ExecutionState.ASSIGNED, facts.T0, "s1"))
    ]  # fmt: skip


def _completed(first: int, count: int) -> list[Any]:
    return [f for k in range(first, first + count) for f in facts.succeed(f"R:{k}:1", facts.T0 + 1)[1:]]  # fmt: skip


def _append_all(project: Any, n: int, batch: int) -> list[float]:
    """Append ``n`` steps' facts in batches of ``batch`` steps (created and assigned in
    one, completed in the next); the seconds each append took."""
    project.append([facts.environment(), facts.session("s1"), *facts.start_run("R", facts.T0)])
    spent = []
    for first in range(2, n + 2, batch):
        for appended in (_scheduled(first, batch), _completed(first, batch)):
            started = time.perf_counter()
            project.append(appended)
            spent.append(time.perf_counter() - started)
    return spent


def store_alone(n: int, store: Store = SQLITE) -> dict[str, Any]:
    """Append a fan-out's facts of ``n`` steps to a fresh store (see the module's doc);
    then one step a batch, as a chain commits them: ms per append."""
    batch = 64
    samples, stored = [], []
    for _ in range(5):
        with store.project() as project:
            before = store.usage()
            samples.append(sum(_append_all(project, n, batch)) / n * 1e6)
            stored.append(_store_cost(before, store.usage(), 1, n))
    singles = min(n, 1_000)
    with store.project() as project:
        single = _append_all(project, singles, 1)
    cost = {k: median([c[k] for c in stored]) for k in stored[0]} if stored[0] else {}
    return {
        "n": n,
        "batch": batch,
        "us_per_step": median(samples),
        "samples_us": [round(s, 1) for s in samples],
        # One step a batch: the commit of a chain's step, apart from the engine.
        "single_step_batches": singles * 2,
        "single_append_ms": distribution(single, 1000),
        **({"database": cost} if cost else {}),
    }


def _history_point(engine: Engine, steps: int, inspected: str, store: Store) -> dict[str, Any]:
    """Server memory and read times, with ``steps`` steps recorded so far."""
    server = engine.pids["server"]
    runs_path = f"/api/projects/{PROJECT}/runs"
    return {
        "steps": steps,
        "server_rss_mb": round(status_kb(server, "VmRSS") / 1024, 1),
        "server_peak_rss_mb": round(status_kb(server, "VmHWM") / 1024, 1),
        **store.footprint(),  # PostgreSQL: the database's size, the cluster's memory
        "runs_list_cli_ms": _timed(lambda: engine.cli("runs", "list")),
        "runs_list_api_ms": _timed(lambda: engine.api.get(runs_path).raise_for_status()),
        "runs_inspect_cli_ms": _timed(lambda: engine.cli("runs", "inspect", inspected)),
        # What the command reads: the run's outline (no values, no transitions).
        "runs_inspect_api_ms": _timed(
            lambda: engine.api.get(f"{runs_path}/{inspected}/outline").raise_for_status()
        ),
        # The whole record: `runs inspect --json`, and the API's full run view.
        "runs_inspect_json_cli_ms": _timed(
            lambda: engine.cli("runs", "inspect", inspected, "--json")
        ),
        "run_view_api_ms": _timed(
            lambda: engine.api.get(f"{runs_path}/{inspected}").raise_for_status()
        ),
    }


def history(per_run: int, runs: int, checkpoints: list[int], store: Store = SQLITE) -> dict[str, Any]:  # fmt: skip
    """Record ``runs`` fan-outs of ``per_run`` steps; measure after the ``checkpoints``-th."""
    points, rates = [], []
    with store.engine() as engine:
        first: str | None = None
        steps = 0
        for number in range(1, runs + 1):
            wall, run_id = engine.run("fanout", per_run)
            first = first or run_id
            steps += per_run + 1  # the workflow's own step too
            rates.append(round(per_run / wall, 1))
            if number in checkpoints:
                points.append(_history_point(engine, steps, first, store))
    return {"steps_per_run": per_run + 1, "points": points, "fanout_tasks_per_s": rates}


def _measure(name: str, size: Any, store: Store) -> Any:
    if name == "fanout":
        return {str(n): fanout(n, store=store) for n in size}
    if name == "prefetch":
        return {str(n): fanout(n, store=store, agent_args=PREFETCH) for n in size}
    if name == "chain":
        return chain(size, store=store)
    if name == "dispatch":
        samples, rate = size
        return dispatch(samples, rate, store=store)
    if name == "history":
        per_run, runs, checkpoints = size
        return history(per_run, runs, checkpoints, store=store)
    if name == "cold":
        return cold(size)
    if name == "fsync":
        return fsync(size)
    return store_alone(size, store=store)


def run_workloads(names: list[str], sizes: dict[str, Any], stores: list[Store]) -> dict[str, Any]:
    """Run the named workloads at ``sizes`` on each store (the SQLite section keeps the
    workload's name, PostgreSQL's is ``NAME_postgres``); one workload at a time, on
    each store in turn, so the numbers compared were taken minutes apart."""
    sections: dict[str, Any] = {}
    for name in names:
        for store in stores:
            if store.name != "sqlite" and name not in ON_EVERY_STORE:
                continue
            key = name if store.name == "sqlite" else f"{name}_{store.name}"
            settle()  # not paying for the previous workload's exit
            print(f"engine: {key} ...", file=sys.stderr, flush=True)
            started = time.time()
            result = _measure(name, sizes[name], store)
            sections[key] = {**result, "measured_at": round(started), "took_s": round(time.time() - started, 1)}  # fmt: skip
            if setup := store.facts():  # PostgreSQL's version and durability settings
                sections[key][store.name] = setup
    return sections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated workloads (default: all)")
    parser.add_argument("--store", default="sqlite", help="sqlite, postgres or sqlite,postgres")
    parser.add_argument("--quick", action="store_true", help="smaller N, results in bench/work")
    options = parser.parse_args()
    names = [n for n in (options.only or ",".join(SIZES["full"])).split(",") if n]
    unknown = set(names) - set(SIZES["full"])
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    store_names = [n for n in options.store.split(",") if n]
    if not store_names or set(store_names) - {"sqlite", "postgres"}:
        parser.error(f"--store takes sqlite, postgres or both, not {options.store!r}")
    if "sqlite" not in store_names:
        sqlite_only = sorted(set(names) - set(ON_EVERY_STORE))
        if options.only and sqlite_only:
            parser.error(f"{', '.join(sqlite_only)} run on SQLite only: add --store sqlite")
        names = [n for n in names if n in ON_EVERY_STORE]
    mode = "quick" if options.quick else "full"
    directory = WORK / "results" if options.quick else RESULTS
    previous = directory / "engine.json"
    data = json.loads(previous.read_text()) if previous.exists() else {}
    facts = machine()  # before the run: the code as it was measured
    with contextlib.ExitStack() as stack:
        stores = open_stores(store_names, stack)
        data.setdefault("workloads", {}).update(run_workloads(names, SIZES[mode], stores))
    data.update(mode=mode, machine=facts)
    engine_report.write_report(directory, data)


if __name__ == "__main__":
    main()
