"""Peers on our workloads, pair by pair, in one run: Ray, Celery, Dask, Prefect,
and the durable engines Temporal and DBOS.

For each peer: install it once into its own venv (``venvs.py``), then for each
workload measure ours and, right after, the peer, so every ratio compares two
numbers taken within a minute of each other on the same machine:

- fan-out of 1,000 and 10,000 trivial tasks: tasks/s (ours: ``engine.fanout``);
- chain of 200 sequential trivial tasks: ms per step (ours: ``engine.chain``);
- cold start to the hello workflow's first result: median of 5 (ours:
  ``engine.cold``; Celery's includes starting Redis and Temporal's its dev server,
  as ours includes our server; DBOS's creates its system database in a PostgreSQL
  cluster already running, as its users' is).

Temporal's fan-out of 10,000 runs in windows of 1,000 activities (it refuses more
than 2,000 pending in one workflow); DBOS records in a durable PostgreSQL cluster
that the runner starts for the pair (``bench/stores.py``'s ``PostgresStore``).

A peer that cannot be installed or run is recorded with the reason, and the run
goes on with the others. Run with ``bench/run peers [--only ray,dask] [--quick]``;
a full run writes bench/results/peers.json and .md (a subset updates only its
peers), ``--quick`` writes to bench/work/results/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parents[1])]

import engine  # noqa: E402
import report  # noqa: E402
import venvs  # noqa: E402
from measure import RESULTS, WORK, machine, median, settle  # noqa: E402
from spawn import PeerFailed, redis_server, run_peer  # noqa: E402
from stores import PostgresStore  # noqa: E402

PEERS = ["ray", "celery", "dask", "prefect", "temporal", "dbos"]
DISTRIBUTION = {
    "ray": "ray", "celery": "celery", "dask": "distributed", "prefect": "prefect",
    "temporal": "temporalio", "dbos": "dbos",
}  # fmt: skip
SIZES: dict[str, dict[str, Any]] = {
    "full": {"fanout": [1_000, 10_000], "chain": 200, "cold": 5},
    "quick": {"fanout": [100, 1_000], "chain": 50, "cold": 2},
}
TIMEOUT = 1200  # seconds for one peer process (Prefect's 10k fan-out is the longest)


@contextmanager
def standing(peer: str) -> Iterator[dict[str, str]]:
    """What the peer's users keep running before they start it, up for the whole
    pair (a durable PostgreSQL cluster for DBOS), as environment."""
    if peer == "dbos":
        with PostgresStore() as store:
            yield {"BENCH_POSTGRES_URL": store.cluster.url()}
    else:
        yield {}


@contextmanager
def services(peer: str) -> Iterator[dict[str, str]]:
    """What the peer needs started beside each of its processes (Redis for Celery),
    as environment."""
    if peer == "celery":
        with redis_server() as url:
            yield {"BENCH_REDIS_URL": url}
    else:
        yield {}


def warm(python: Path, peer: str, workload: str, n: int, env: dict[str, str]) -> dict[str, Any]:
    """One warm workload of the peer, in a process of its venv."""
    with services(peer) as extra:
        return run_peer(python, peer, [workload, str(n)], {**env, **extra}, TIMEOUT)[-1]


def cold(python: Path, peer: str, runs: int, env: dict[str, str]) -> dict[str, Any]:
    """Spawn -> hello result of the peer, ``runs`` times from nothing; the median."""
    samples = []
    for _ in range(runs):
        started = time.time()  # before Redis too: ours includes starting our server
        with services(peer) as extra:
            printed = run_peer(python, peer, ["cold"], {**env, **extra}, 300)[0]
        if printed["result"] != "Hello, Joe!":
            raise PeerFailed(f"{peer} hello returned {printed['result']!r}")
        samples.append(printed["result_at"] - started)
    return {"runs": runs, "first_result_s": median(samples), "samples": [round(s, 3) for s in samples]}  # fmt: skip


def guarded(measure: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """The measure's result, or the reason it failed (the next measure still runs)."""
    try:
        return measure(*args)
    except Exception as error:
        print(f"  failed: {error}", file=sys.stderr, flush=True)
        return {"error": f"{type(error).__name__}: {error}"[:800]}


def pair(peer: str, python: Path, sizes: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Ours and the peer on every workload, ours first, one workload at a time."""
    ours: dict[str, Any] = {"fanout": {}}
    theirs: dict[str, Any] = {"fanout": {}}
    # Each measure starts on an idle machine: a peer's processes can keep it busy for
    # seconds after they exit (Ray frees gigabytes of shared memory), and whichever
    # side came next would pay for it.
    for n in sizes["fanout"]:
        print(f"peers: {peer} fan-out {n} ...", file=sys.stderr, flush=True)
        settle()
        found = guarded(engine.fanout, n)
        ours["fanout"][str(n)] = {k: v for k, v in found.items() if k in ("n", "wall_s", "tasks_per_s", "runs", "error")}  # fmt: skip
        settle()
        theirs["fanout"][str(n)] = guarded(warm, python, peer, "fanout", n, env)
    print(f"peers: {peer} chain ...", file=sys.stderr, flush=True)
    settle()
    ours["chain"] = guarded(engine.chain, sizes["chain"])
    settle()
    theirs["chain"] = guarded(warm, python, peer, "chain", sizes["chain"], env)
    print(f"peers: {peer} cold start ...", file=sys.stderr, flush=True)
    settle()
    found = guarded(engine.cold, sizes["cold"])
    ours["cold"] = {k: found[k] for k in ("runs", "first_result_s", "error") if k in found}
    settle()
    theirs["cold"] = guarded(cold, python, peer, sizes["cold"], env)
    return {"ours": ours, "theirs": theirs}


def measure_peer(peer: str, sizes: dict[str, Any]) -> dict[str, Any]:
    """Install the peer if needed, then measure the pair; or why it could not be."""
    try:
        python = venvs.ensure(peer)
    except venvs.InstallError as error:
        return {"status": "not installed", "reason": str(error)}
    started = time.time()
    try:
        with standing(peer) as env:
            result = pair(peer, python, sizes, env)
    except Exception as error:  # what it needs could not be started
        return {"status": "not run", "reason": f"{type(error).__name__}: {error}"[:800]}
    version = venvs.version(python, DISTRIBUTION[peer])
    return {
        "status": "measured",
        "version": version,
        "measured_at": round(started),
        **result,
        "ratios": report.ratios(result["ours"], result["theirs"], sizes),
        **({"notes": report.NOTES[peer]} if peer in report.NOTES else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(PEERS), help="comma-separated peers")
    parser.add_argument("--quick", action="store_true", help="smaller N, results in bench/work")
    options = parser.parse_args()
    names = [n for n in options.only.split(",") if n]
    unknown = set(names) - set(PEERS)
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    mode = "quick" if options.quick else "full"
    directory = WORK / "results" if options.quick else RESULTS
    previous = directory / "peers.json"
    data = json.loads(previous.read_text()) if previous.exists() else {}
    peers = data.setdefault("peers", {})
    facts = machine()  # before the run: the code as it was measured
    for peer in names:
        peers[peer] = measure_peer(peer, SIZES[mode])
    data.update(mode=mode, sizes=SIZES[mode], machine=facts)
    data["peers"] = {peer: peers[peer] for peer in PEERS if peer in peers}  # fixed order
    report.write_report(directory, data)


if __name__ == "__main__":
    main()
