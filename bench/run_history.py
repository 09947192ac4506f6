"""Run history benchmark: finding runs among 1,000,000, on SQLite and PostgreSQL.

What ``GET /api/projects/{p}/runs`` reads (``ProjectStore.find_runs``), timed
against a project of 1,000,000 runs recorded straight into a fresh store (no
server, no agents: the facts an orchestrator would append, 2,000 runs a batch),
over 35 days of history, in two environments, twenty workflows and every kind of
end, with an idempotency key on one run in ten and arguments holding an order
number, a customer and a region. Then, 50 runs a page, median of 7 calls each (in
ms): the first page of the project, of an environment and of a workflow in it; a
deep page (900,000 runs in, from a cursor) in both orders; and each filter: one
state, a rare state, several states, a workflow's failures, an hour and a day of
history, an idempotency key, a run id, a text in one run's arguments, a text in
one run in seven, a text in none, and all of them at once.

Each store is the benchmarks' own (``stores.py``: SQLite files; a durable
PostgreSQL cluster, its database analysed after seeding, as autovacuum would have
it by then). Also reported: how long seeding took, and the database's size.

Run with ``bench/run run_history [--store sqlite,postgres] [--quick]``. A full run
writes bench/results/run_history.json and .md; ``--quick`` (100,000 runs, for
iterating) writes to bench/work/results/ instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from measure import RESULTS, WORK, machine, table, write  # noqa: E402
from stores import PostgresStore, Store, open_stores  # noqa: E402
from tests.store import facts  # noqa: E402
from tests.support import history  # noqa: E402

from coflux.store.base import ProjectStore, RunQuery  # noqa: E402

PROD, STAGING = history.PROD, history.STAGING
SPACING = history.SPACING
PAGE = 50
REPEAT = 7


def seed(store: ProjectStore, total: int) -> float:
    """Record ``total`` runs (``tests/support/history.py``), run ``n`` created at
    ``facts.T0 + n * SPACING``; the seconds it took."""

    def recorded(runs: int) -> None:
        if runs % 100_000 == 0:
            print(f"run_history: {runs:,} runs recorded", file=sys.stderr, flush=True)

    started = time.perf_counter()
    history.seed(store, total, facts.T0 + (total - 1) * SPACING, recorded=recorded)
    return time.perf_counter() - started


def timed(action: Callable[[], object]) -> dict[str, float]:
    """Median and slowest of ``REPEAT`` calls, in ms (after one not counted)."""
    action()
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2)}


def queries(total: int) -> dict[str, RunQuery]:
    middle = facts.T0 + total // 2 * SPACING
    last = facts.T0 + total * SPACING
    rare = total // 2 + 1  # a run whose order number is searched for
    return {
        "first page: the project": RunQuery(),
        "first page: an environment": RunQuery(environment_ids=(PROD,)),
        "first page: a workflow in an environment": RunQuery(
            environment_ids=(PROD,), repository="repo1", target="flow2"
        ),
        "state: failed (5%)": RunQuery(environment_ids=(PROD,), states=("failed",)),
        "state: abandoned (0.01%)": RunQuery(environment_ids=(PROD,), states=("abandoned",)),
        "states: failed, cancelled, timed_out": RunQuery(
            environment_ids=(PROD,), states=("failed", "cancelled", "timed_out")
        ),
        "a workflow's failures": RunQuery(
            environment_ids=(PROD,), repository="repo1", target="flow2", states=("failed",)
        ),
        "an hour, mid-history": RunQuery(
            environment_ids=(PROD,), since=middle, until=middle + 3600
        ),
        "the last day, oldest first": RunQuery(
            environment_ids=(PROD,), since=last - 86400, oldest_first=True
        ),
        "an idempotency key": RunQuery(idempotency_key=f"key-{total // 2}"),
        "search: a run id": RunQuery(search=f"r{rare:09d}"),
        "search: text in one run": RunQuery(search=f"order-{rare:07d}"),
        "search: text in one run in seven": RunQuery(environment_ids=(PROD,), search="ap-south"),
        "search: text in none": RunQuery(environment_ids=(PROD,), search="nowhere-to-be-found"),
        "everything at once": RunQuery(
            environment_ids=(PROD,),
            repository="repo1",
            target="flow2",
            states=("succeeded", "failed"),
            since=facts.T0,
            until=middle,
            search="eu-",
        ),
    }


def measure(store: Store, total: int) -> dict[str, Any]:
    with store.project() as project:
        seconds = seed(project, total)
        _analyse(store)
        results: dict[str, Any] = {"runs": total, "seed_s": round(seconds, 1)}
        timings: dict[str, Any] = {}
        for name, query in queries(total).items():
            found = project.find_runs(query, limit=PAGE)
            timings[name] = {"found": len(found.runs), **timed(lambda q=query: project.find_runs(q, limit=PAGE))}  # fmt: skip
        # A deep page: from the position of the run 900,000 runs from the newest.
        deep = total - int(total * 0.9)
        position = project.find_runs(RunQuery(until=facts.T0 + deep * SPACING), limit=1).positions[
            0
        ]
        for name, query in (("deep page (90% in), newest first", RunQuery()),
                            ("deep page (90% in), oldest first", RunQuery(oldest_first=True))):  # fmt: skip
            found = project.find_runs(query, after=position, limit=PAGE)
            timings[name] = {"found": len(found.runs), **timed(lambda q=query: project.find_runs(q, after=position, limit=PAGE))}  # fmt: skip
        walk = replace(RunQuery(environment_ids=(PROD,)), states=("failed",))
        timings["20 pages of failures, cursor to cursor"] = {
            "found": PAGE * 20, **timed(lambda: _walk(project, walk, 20))
        }  # fmt: skip
        results["queries"] = timings
        results.update(store.footprint())
        if setup := store.facts():
            results[store.name] = setup
    return results


def _analyse(store: Store) -> None:
    """PostgreSQL: ANALYZE the seeded database, as autovacuum would have by the time a
    project holds a million runs (the planner's choices depend on it)."""
    if not isinstance(store, PostgresStore) or store._database is None:
        return
    import psycopg

    with psycopg.connect(store.cluster.url(store._database), autocommit=True) as conn:
        conn.execute("ANALYZE")


def _walk(project: ProjectStore, query: RunQuery, pages: int) -> None:
    after = None
    for _ in range(pages):
        page = project.find_runs(query, after=after, limit=PAGE)
        after = page.positions[-1]


def report(data: dict[str, Any]) -> str:
    names = [name for name in data["stores"]]
    sections = [data["stores"][name] for name in names]
    rows = []
    for query in sections[0]["queries"]:
        row: list[object] = [query]
        for section in sections:
            timing = section["queries"].get(query, {})
            row += [
                timing.get("found", "-"),
                timing.get("median_ms", "-"),
                timing.get("max_ms", "-"),
            ]
        rows.append(row)
    header = ["page of 50"]
    for name in names:
        header += [f"{name}: found", f"{name}: median ms", f"{name}: max ms"]
    setup = "\n".join(
        f"- {name}: {section['runs']:,} runs seeded in {section['seed_s']} s"
        + (f", database {section['database_mb']} MB" if "database_mb" in section else "")
        for name, section in zip(names, sections, strict=True)
    )
    m = data["machine"]
    return (
        "# Run history benchmark\n\n"
        f"Produced by `bench/run run_history` (Python {m['python']}, {m['cpus']} CPUs, "
        f"commit {m['commit']}{' with changes' if m['src_modified'] else ''}). "
        "Each row: one call of `find_runs` (what `GET .../runs` reads), 50 runs a page, "
        f"median and slowest of {REPEAT}. See the module's docstring for the data.\n\n"
        f"{setup}\n\n{table(header, rows)}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--quick", action="store_true", help="100,000 runs, results in bench/work")
    options = parser.parse_args()
    total = 100_000 if options.quick else 1_000_000
    directory = WORK / "results" if options.quick else RESULTS
    data: dict[str, Any] = {"machine": machine(), "stores": {}}
    with contextlib.ExitStack() as stack:
        for store in open_stores([n for n in options.store.split(",") if n], stack):
            print(f"run_history: {store.name} ...", file=sys.stderr, flush=True)
            data["stores"][store.name] = measure(store, total)
    write(directory, "run_history", data, report(data))
    print(json.dumps(data["stores"], indent=2))


if __name__ == "__main__":
    main()
