"""Several servers on one PostgreSQL database (issue 14): what they serve together,
how long a takeover pauses a project, and what 10,000 idle projects cost.

Everything runs on one durable PostgreSQL cluster (``stores.PostgresStore``: fsync,
synchronous_commit and full_page_writes on) and one S3 bucket of moto's server
(``tests/support/s3.py``), the blob store the servers share. Every server is a
real ``coflux server`` with its own data directory (so its own server id), the
same ``--database`` and ``--blobs``, and the default lease (10 s) and session
timeout (30 s); agents are real ``coflux agent`` processes (``fleet.py``).

- ``scaling``: 100 projects, each with an environment and an agent hosting
  ``bench/repos/bench_engine.py`` (``fleet.AGENT_ARGS``: two executions at once,
  three executor processes at most, so 100 agents fit in memory), served by 1,
  then 2, then 3 servers. Each server added takes the projects that belong on it
  (rendezvous hashing); the agents, all pointed at the first server, follow its
  redirect to their project's owner. With each number of servers, after a
  warm-up, every project runs a fan-out of 40 tasks at once (submitted round
  robin through the servers): aggregate tasks/s (all tasks over the time from the
  first submission to the last recorded completion) and per-project tasks/s
  (each run's recorded creation to completion), the median of 3 rounds; the CPU
  seconds of each server process per task of the projects it owns, of the agents
  (with their executors) and of PostgreSQL; and the cluster's write transactions
  (the transaction ids it handed out: exact, where the statistics views lag).
- ``takeover``: the third server stops gracefully (its projects go back to the
  others), every project runs ``load`` (a workflow submitting 2 tasks a second for
  40 s), and 8 s in the second server is killed (``kill -9``). For each project
  it owned: the time from the kill to the first completion recorded after it
  (median, max). Then every run must have ended with the right result and every
  task step must be recorded once with one execution (none lost, none run twice),
  counted from the API's run views.
- ``idle``: 10,000 projects created through the catalog (``PostgresCatalog.create``,
  8 threads), then a server started on them: the time until it answers (it
  acquires every lease and opens every project first), its RSS, one heartbeat (the
  statement renewing all its leases, sent from here with that server's id, as it
  sends it; median of 7), its CPU and PostgreSQL's while idle for 20 s, and the
  leases it still holds after. Then a second server joins: the time until each
  holds the projects that belong on it (at most ``SPREAD_S``), and both RSS.

Run with ``bench/run servers [--only scaling,takeover,idle] [--quick]`` (~10-12 min in
full on this machine). A full run writes bench/results/servers.json and .md (a subset updates only
its own sections); ``--quick`` (10 projects, 1 round, 1,000 idle projects) writes
to bench/work/results/ instead.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

import coflux

# Run as a script: our sibling modules, and the repository root for tests.support.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import servers_report  # noqa: E402
from fleet import SESSION_TIMEOUT, Fleet, database_query, settled  # noqa: E402
from measure import RESULTS, WORK, machine, median, poll, settle, status_kb, tree_cpu_seconds  # noqa: E402
from stores import PostgresStore  # noqa: E402
from tests.support.cluster import Process, base_env, coflux_command, free_port  # noqa: E402
from tests.support.s3 import start_service  # noqa: E402

from coflux.orchestration.project import new_id  # noqa: E402
from coflux.store.base import DEFAULT_LEASE_TTL  # noqa: E402
from coflux.store.postgres.catalog import PostgresCatalog  # noqa: E402
from coflux.store.postgres.leases import SERVER_ID_FILE, Leases  # noqa: E402

SIZES: dict[str, dict[str, Any]] = {
    "full": {"projects": 100, "tasks": 40, "rounds": 3, "servers": [1, 2, 3],
             "load": (2.0, 40.0, 8.0), "idle": 10_000, "idle_s": 20.0},
    "quick": {"projects": 10, "tasks": 50, "rounds": 1, "servers": [1, 2, 3],
              "load": (2.0, 30.0, 6.0), "idle": 1_000, "idle_s": 10.0},
}  # fmt: skip
PHASES = ("scaling", "takeover", "idle")
WARM_UP = 10  # tasks per project once a new set of servers has settled
# What must stay 0 across the takeover (counted per run by ``_check_load``).
FAULTS = ("wrong_results", "lost_steps", "duplicate_steps", "repeated_executions")
LOGS = WORK / "servers-logs"  # the processes' logs, kept when a takeover went wrong
SPREAD_S = 120.0
# What a server's heartbeat thread prints as it dies (iterating its stores while
# another thread adds one: see the report of the run that found it).
HEARTBEAT_FAILED = "Set changed size during iteration"  # the longest the idle projects are given to spread over two servers


# --- scaling -------------------------------------------------------------------------


def fan_out_round(fleet: Fleet, store: PostgresStore, names: list[str], tasks: int) -> dict[str, Any]:  # fmt: skip
    """A fan-out of ``tasks`` in every project at once (see the module docstring)."""
    idle = settle(timeout=5.0)
    owners = fleet.settle(names)
    servers = list(fleet.servers)
    key = uuid.uuid4().hex[:8]
    before, started = fleet.usage(store), time.time()
    runs = fleet.submit_all(names, "fanout", [tasks], key)
    results = {name: fleet.result(servers[0], name, run) for name, run in runs.items()}
    after = fleet.usage(store)
    outlines = [fleet.get(servers[0], f"/api/projects/{n}/runs/{r}/outline") for n, r in runs.items()]  # fmt: skip
    steps = [step for outline in outlines for step in outline["steps"]]
    wall = max(o["completed_at"] for o in outlines) - started
    total = tasks * len(names)
    return {
        "idle_before": round(idle, 2),
        "wall_s": round(wall, 3),
        "aggregate_tasks_per_s": round(total / wall, 1),
        "per_project_tasks_per_s": _spread(
            [tasks / (o["completed_at"] - o["created_at"]) for o in outlines]
        ),
        "right_results": sum(_value(r) == sum(range(tasks)) for r in results.values()),
        "steps_run_once": sum(
            [e["state"] for e in s["executions"]] == ["succeeded"] for s in steps
        ),
        "steps": len(steps),
        **_cost(
            before, after, {s.url: tasks * list(owners.values()).count(s) for s in servers}, wall
        ),
    }


def _cost(before: dict[str, Any], after: dict[str, Any], owned: dict[str, int], wall: float) -> dict[str, Any]:  # fmt: skip
    """CPU per task of each server (``owned``: address -> the tasks of the projects
    it owns), of all servers, of the agents and of PostgreSQL; the write
    transactions committed."""
    total = sum(owned.values())
    spent = {url: after["servers"][url] - before["servers"][url] for url in owned}
    written = after["xid"] - before["xid"]
    return {
        "servers": [
            {
                "address": url,
                "owned_tasks": n,
                "cpu_s": round(spent[url], 2),
                "cpu_ms_per_owned_task": round(spent[url] / n * 1000, 3) if n else None,
            }
            for url, n in owned.items()
        ],
        "cpu_ms_per_task": {
            "servers": round(sum(spent.values()) / total * 1000, 3),
            "agents": round((after["agents"] - before["agents"]) / total * 1000, 3),
            "postgres": round((after["cpu_s"] - before["cpu_s"]) / total * 1000, 3),
        },
        "write_transactions": written,
        "write_transactions_per_s": round(written / wall, 1),
        "wal_bytes_per_task": round((after["wal_bytes"] - before["wal_bytes"]) / total),
    }


def _value(result: dict[str, Any]) -> Any:
    """The JSON value a run's result holds (None if it holds none)."""
    return ((result.get("outcome") or {}).get("value") or {}).get("data")


def _spread(samples: list[float]) -> dict[str, float]:
    return {"p50": median(samples, 1), "min": round(min(samples), 1), "max": round(max(samples), 1)}  # fmt: skip


def scaling(fleet: Fleet, store: PostgresStore, names: list[str], size: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The same fan-outs with each number of servers in ``size["servers"]``."""
    sections: dict[str, Any] = {}
    for count in size["servers"]:
        print(f"servers: {count} server(s) ...", file=sys.stderr, flush=True)
        added = time.perf_counter()
        while len(fleet.servers) < count:
            fleet.add_server()
        fleet.settle(names)
        settled_s = time.perf_counter() - added
        fan_out_round(fleet, store, names, WARM_UP)
        rounds = [fan_out_round(fleet, store, names, size["tasks"]) for _ in range(size["rounds"])]
        middle = sorted(rounds, key=lambda r: r["aggregate_tasks_per_s"])[len(rounds) // 2]
        sections[str(count)] = {
            "servers": count, "projects": len(names), "tasks_per_project": size["tasks"],
            # From starting the servers added to every project held by the server it
            # belongs on, with its agent connected there.
            "settled_s": round(settled_s, 1),
            "aggregate_tasks_per_s": middle["aggregate_tasks_per_s"],
            "rounds_tasks_per_s": [r["aggregate_tasks_per_s"] for r in rounds],
            "median_round": middle,
        }  # fmt: skip
    return {"agents_pss_mb": fleet.agents_pss_mb(), "by_servers": sections}


# --- takeover ------------------------------------------------------------------------


def takeover(fleet: Fleet, names: list[str], load: tuple[float, float, float]) -> dict[str, Any]:
    """Kill -9 one of two servers while every project runs ``load`` (the module docstring)."""
    rate, seconds, kill_after = load
    while len(fleet.servers) > 2:
        fleet.remove_server(fleet.servers[-1], kill=False)  # a graceful stop hands them back
    while len(fleet.servers) < 2:
        fleet.add_server()
    settle(timeout=5.0)
    owners = fleet.settle(names)
    survivor, victim = fleet.servers
    key, started = uuid.uuid4().hex[:8], time.time()
    runs = fleet.submit_all(names, "load", [rate, seconds], key)
    time.sleep(max(0.0, started + kill_after - time.time()))  # every run well under way
    killed_at = time.time()
    fleet.remove_server(victim, kill=True)
    poll(lambda: settled(fleet.database, {survivor.url}) is not None, timeout=120, interval=0.2)
    taken_over = time.time() - killed_at
    count = int(rate * seconds)
    checked = {
        name: _check_load(
            fleet.result(survivor, name, run),
            fleet.get(survivor, f"/api/projects/{name}/runs/{run}"),
            count,
            killed_at,
        )
        for name, run in runs.items()
    }
    affected = [checked[n] for n in names if owners[n] is victim]
    others = [checked[n] for n in names if owners[n] is survivor]
    return {
        "projects": len(names),
        "affected_projects": len(affected),
        "load": {"tasks_per_s_per_project": rate, "seconds": seconds, "killed_after_s": kill_after},
        "lease_ttl_s": DEFAULT_LEASE_TTL,
        "session_timeout_s": SESSION_TIMEOUT,
        "pause_s": _pauses(affected),
        "unaffected_pause_s": _pauses(others),
        "all_taken_over_s": round(taken_over, 2),
        "runs": len(runs),
        **{k: sum(c[k] for c in checked.values()) for k in (*FAULTS, "steps")},
        "problems": {n: c["problem"] for n, c in checked.items() if c["problem"]},
    }


def _counts(states: list[str]) -> dict[str, int]:
    return {state: states.count(state) for state in sorted(set(states))}


def _pauses(checked: list[dict[str, Any]]) -> dict[str, float] | None:
    if not checked:
        return None
    pauses = [c["progress_after_kill_s"] for c in checked]
    return {"median": median(pauses, 2), "max": round(max(pauses), 2), "min": round(min(pauses), 2)}  # fmt: skip


def _check_load(result: dict[str, Any], view: dict[str, Any], count: int, killed_at: float) -> dict[str, Any]:  # fmt: skip
    """What one ``load`` run recorded: its result, its task steps (each index once,
    each with one execution) and its first completion after the kill."""
    tasks = [s for s in view["steps"] if s["target"] == "echo"]
    indices = [s["arguments"][0]["data"] for s in tasks]
    completed = [
        e["completed_at"] for s in view["steps"] for e in s["executions"]
        if e["completed_at"] is not None and e["completed_at"] > killed_at
    ]  # fmt: skip
    right = result["state"] == "succeeded" and _value(result) == sum(range(count))
    ended = [e["state"] for s in view["steps"] for e in s["executions"]]
    return {
        "wrong_results": 0 if right else 1,
        # What a wrong run ended as: its result, and its executions' final states.
        "problem": None
        if right
        else {
            "result": result,
            "states": _counts(ended),
            "abandoned": [
                {
                    "id": e["id"],
                    "transitions": [
                        {**t, "at": round(t["at"] - killed_at, 3)} for t in e["transitions"]
                    ],
                }
                for s in view["steps"]
                for e in s["executions"]
                if e["state"] == "abandoned"
            ][:3],  # their transitions' times: seconds since the kill
        },
        "lost_steps": len(set(range(count)) - set(indices)),
        "duplicate_steps": len(indices) - len(set(indices)),
        "repeated_executions": sum(len(s["executions"]) - 1 for s in view["steps"]),
        "steps": len(tasks),
        "progress_after_kill_s": min(completed) - killed_at if completed else float("inf"),
    }


# --- idle projects -------------------------------------------------------------------


def create_idle_projects(url: str, count: int) -> float:
    """``count`` projects recorded through the catalog (8 threads); seconds taken.
    The catalog acquires each as it creates it and releases them all as it closes,
    as a server stopping gracefully does."""
    catalog = PostgresCatalog(url, address="http://bench.invalid")
    started = time.perf_counter()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            created = pool.map(lambda n: catalog.create(new_id(8), f"idle{n:05d}", time.time()), range(count))  # fmt: skip
            list(created)
    finally:
        catalog.close()
    return time.perf_counter() - started


def spawn_server(workdir: Path, name: str, url: str) -> tuple[Process, str, float]:
    """A server on the idle projects' database: the process, its URL, and the
    seconds from its spawn until it answered (it acquires and opens its projects
    before it answers: longer than ``tests.support.cluster.Server`` waits)."""
    port = free_port()
    args = coflux_command("server", "--port", str(port), "--data-dir", str(workdir / name),
                          "--database", url, "--session-timeout", str(SESSION_TIMEOUT))  # fmt: skip
    process = Process(args, base_env(), workdir)
    address = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process.start()

    def ready() -> bool:
        if process.popen.poll() is not None:
            raise RuntimeError(f"server exited:\n{process.output.text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            return httpx.get(address + "/api/openapi.json", timeout=5).status_code == 200
        return False

    poll(ready, timeout=900, interval=0.1)
    return process, address, time.perf_counter() - started


def _server_id(data_dir: Path) -> str:
    return (data_dir / SERVER_ID_FILE).read_text().strip()


def heartbeat_ms(url: str, data_dir: Path, address: str, repeat: int = 7) -> tuple[float, int]:
    """The median time of one heartbeat of the server whose data directory this is
    (its statement, sent as it sends it: renewing its leases), and the leases renewed."""
    from psycopg_pool import ConnectionPool

    kwargs = {"autocommit": True, "prepare_threshold": None}
    times, renewed = [], 0
    with ConnectionPool(url, min_size=1, max_size=1, kwargs=kwargs) as pool:
        leases = Leases(pool, _server_id(data_dir), address, DEFAULT_LEASE_TTL)  # type: ignore[arg-type]
        leases.heartbeat()  # the connection made, the statement planned
        for _ in range(repeat):
            begun = time.perf_counter()
            renewed = len(leases.heartbeat())
            times.append((time.perf_counter() - begun) * 1000)
    return median(times, 2), renewed


def live_leases(url: str, data_dir: Path) -> int:
    """The live leases the server of this data directory holds."""
    sql = "SELECT count(*) FROM project_leases WHERE owner = %s AND expires_at > now()"
    return int(database_query(url, sql, _server_id(data_dir))[0][0])


def _rss_mb(process: Process, field: str = "VmRSS") -> float:
    return round(status_kb(process.popen.pid, field) / 1024, 1)


def idle(store: PostgresStore, workdir: Path, count: int, seconds: float) -> dict[str, Any]:
    """``count`` idle projects: one server acquiring them and idling, then a second joining."""
    database = store.cluster.new_database(migrated=False)
    url = store.cluster.url(database)
    processes: list[Process] = []
    try:
        PostgresCatalog(url).close()  # migrated, as a server would
        created_s = create_idle_projects(url, count)
        settle(timeout=5.0)
        one, address = _one_server(store, workdir, url, seconds, processes)
        two = _second_server(workdir, url, processes, address)
    finally:
        for process in processes:
            process.stop()
        store.cluster.drop_database(database)
    return {"projects": count, "created_s": round(created_s, 2), "idle_window_s": seconds,
            "lease_ttl_s": DEFAULT_LEASE_TTL, "one_server": one, "second_server": two}  # fmt: skip


def _one_server(store: PostgresStore, workdir: Path, url: str, seconds: float, processes: list[Process]) -> tuple[dict[str, Any], str]:  # fmt: skip
    """The first server: acquiring every project, then idle; and its address."""
    first, address, ready = spawn_server(workdir, "idle-1", url)
    processes.append(first)
    held = live_leases(url, workdir / "idle-1")
    rss = _rss_mb(first)
    # While every lease is live (the statement renews only those).
    beat, renewed = heartbeat_ms(url, workdir / "idle-1", address)
    cpu, postgres = tree_cpu_seconds(first.popen.pid), store.usage()["cpu_s"]
    time.sleep(seconds)  # what is measured: idle, heartbeats and takeover looks only
    idle_cpu = tree_cpu_seconds(first.popen.pid) - cpu
    idle_postgres = store.usage()["cpu_s"] - postgres
    held_after = live_leases(url, workdir / "idle-1")
    log = first.output
    return {
        "ready_s": round(ready, 2), "leases_held": held, "rss_mb": rss,
        "peak_rss_mb": _rss_mb(first, "VmHWM"),
        "idle_cpu_s_per_minute": round(idle_cpu / seconds * 60, 3),
        "idle_postgres_cpu_s_per_minute": round(idle_postgres / seconds * 60, 3),
        "leases_held_after_idle": held_after, "heartbeat_ms": beat, "heartbeat_renewed": renewed,
        # Logged by the only server there is: each a store told it lost its lease.
        "lease_losses_logged": log.count("lost its lease to another server"),
        "heartbeat_thread_errors": log.count(HEARTBEAT_FAILED),
    }, address  # fmt: skip


def _second_server(workdir: Path, url: str, processes: list[Process], first: str) -> dict[str, Any]:  # fmt: skip
    """A second server joins: the time until the projects are spread (None if they
    were not within ``SPREAD_S``), then the leases each holds and both RSS."""
    second, address, ready = spawn_server(workdir, "idle-2", url)
    processes.append(second)
    started = time.perf_counter()
    spread: float | None = None
    with contextlib.suppress(TimeoutError):
        poll(lambda: settled(url, {first, address}) is not None, timeout=SPREAD_S, interval=1.0)
        spread = round(time.perf_counter() - started, 2)
    if spread is None:  # for whoever looks into why
        LOGS.mkdir(parents=True, exist_ok=True)
        for n, process in enumerate(processes, 1):
            (LOGS / f"idle-server-{n}.log").write_text(process.output.text())
    return {
        "ready_s": round(ready, 2), "spread_after_ready_s": spread,
        "leases_held": [live_leases(url, workdir / n) for n in ("idle-1", "idle-2")],
        "rss_mb": [_rss_mb(p) for p in processes],
        "heartbeat_thread_errors": [p.output.count(HEARTBEAT_FAILED) for p in processes],
    }  # fmt: skip


# --- the run -------------------------------------------------------------------------


def run_phases(phases: list[str], size: dict[str, Any], workdir: Path) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(PostgresStore())
        if "scaling" in phases or "takeover" in phases:
            s3 = start_service()
            stack.callback(s3.stop)
            database = store.cluster.new_database(migrated=False)
            stack.callback(store.cluster.drop_database, database)
            fleet = stack.enter_context(Fleet(workdir, store.cluster.url(database), s3))
            names = [f"p{n:03d}" for n in range(size["projects"])]
            fleet.add_server()
            fleet.create_projects(names)
            fleet.start_agents(names)
            if "scaling" in phases:
                sections["scaling"] = _timed(lambda: scaling(fleet, store, names, size))
            if "takeover" in phases:
                sections["takeover"] = _timed(lambda: takeover(fleet, names, size["load"]))
                if any(sections["takeover"][k] for k in FAULTS):
                    fleet.keep_logs(LOGS)
                    print(f"servers: faults after the takeover; logs in {LOGS}", file=sys.stderr)
        if "idle" in phases:
            sections["idle"] = _timed(lambda: idle(store, workdir, size["idle"], size["idle_s"]))
        for section in sections.values():
            section["postgres"] = store.facts()
    return sections


def _timed(measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.time()
    result = measure()
    return {**result, "measured_at": round(started), "took_s": round(time.time() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated phases: scaling, takeover, idle")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, results in bench/work")
    options = parser.parse_args()
    phases = [p for p in (options.only or ",".join(PHASES)).split(",") if p]
    if set(phases) - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(set(phases) - set(PHASES)))}")
    mode = "quick" if options.quick else "full"
    directory = WORK / "results" if options.quick else RESULTS
    previous = directory / "servers.json"
    data = json.loads(previous.read_text()) if previous.exists() else {}
    facts = {
        **machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        # Where the measured code came from: the working tree's src/, unless
        # PYTHONPATH names another copy (every process started inherits it).
        "coflux_from": str(Path(coflux.__file__).resolve().parents[1]),
    }
    with tempfile.TemporaryDirectory(prefix="coflux-servers-") as tmp:
        data.setdefault("phases", {}).update(run_phases(phases, SIZES[mode], Path(tmp)))
    data.update(mode=mode, machine=facts)
    servers_report.write_report(directory, data)


if __name__ == "__main__":
    main()
