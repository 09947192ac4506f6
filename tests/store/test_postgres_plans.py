"""The PostgreSQL store's writes find executions by their key, with or without
statistics.

A new database has no statistics until autovacuum's first ANALYZE (a minute or
more), and a table that grows quickly outruns the ones it has. Under those, a
statement joining a batch's rows on ``project_id = constant`` looked cheap to plan
as a scan of every execution of the project, so each batch cost more as the run
grew (found by ``bench/run engine --store postgres``: a fan-out's batches went
from 0.03 to 0.7 ms at 3,000 executions). These tests EXPLAIN the statements a
batch writes, over a project of 3,000 executions that was never analysed, and
require every read of ``executions`` to be a lookup through its primary key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from coflux.orchestration.effects import Fact
from coflux.orchestration.states import ExecutionState
from coflux.store.postgres import writes
from coflux.store.postgres.catalog import PostgresCatalog
from tests.store import facts
from tests.support import postgres

EXECUTIONS = 3_000


def scheduled(first: int, count: int) -> list[Fact]:
    """Steps of run R, each created and assigned (a fan-out's first batch)."""
    return [
        fact
        for k in range(first, first + count)
        for fact in (
            *facts.step("R", k, facts.T0, parent="R:1:1", call_index=k),
            facts.transition(f"R:{k}:1", ExecutionState.ASSIGNED, facts.T0, "s1"),
        )
    ]


@pytest.fixture(scope="module")
def grown() -> Iterator[str]:
    """A database holding one run of 3,000 assigned executions, never analysed."""
    cluster = postgres.shared_cluster()
    with postgres.fresh_database(cluster) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            # Autovacuum would analyse the tables at a time of its choosing.
            for table in ("executions", "steps", "runs", "active_executions"):
                conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        catalog = PostgresCatalog(url)
        try:
            store = catalog.create("p1", "plans", facts.T0)
            store.append(
                [facts.environment(), facts.session("s1"), *facts.start_run("R", facts.T0)]
            )
            for first in range(2, EXECUTIONS + 2, 500):
                store.append(scheduled(first, 500))
        finally:
            catalog.close()
        yield url


def scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, subplans included."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from scans(child)


def executions_reads(url: str, batch: list[Fact]) -> list[tuple[str, str]]:
    """(node type, index) of every node reading ``executions`` in the batch's plans
    (the update's own node, which writes the rows it is given, aside)."""
    found = []
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        for statement, params in writes.Rows.collect(batch).statements("p1"):
            if statement.lstrip().startswith("INSERT"):
                continue  # an insert reads nothing (its unique checks are not plan nodes)
            row = conn.execute(f"EXPLAIN (FORMAT JSON) {statement}", params).fetchone()
            assert row is not None
            document = row[0] if isinstance(row[0], list) else json.loads(row[0])
            plan = document[0]["Plan"]
            found += [
                (node["Node Type"], node.get("Index Name", ""))
                for node in scans(plan)
                if node.get("Relation Name") == "executions" and node["Node Type"] != "ModifyTable"
            ]
    return found


def completed(*numbers: int) -> list[Fact]:
    return [f for k in numbers for f in facts.succeed(f"R:{k}:1", facts.T0 + 1)[1:]]


# Small batches, as a fan-out's completions come (a few per batch). For larger
# ones over a table this small, a scan of it can rightly be cheaper than the lookups.
@pytest.mark.parametrize("size", [1, 2, 6])
def test_completions_look_executions_up_by_key(grown: str, size: int) -> None:
    # The batch updates the executions' current state and checks they exist.
    reads = executions_reads(grown, completed(*range(100, 100 + size)))

    assert reads, "the batch reads executions (its update, its reference check)"
    assert all(index == "executions_pkey" for _, index in reads), reads
    assert all(node in ("Index Scan", "Index Only Scan") for node, _ in reads), reads


def test_a_new_step_checks_its_parent_by_key(grown: str) -> None:
    # A step created under an execution of the run names it: the check looks it up.
    reads = executions_reads(grown, scheduled(EXECUTIONS + 2, 3))

    assert reads
    assert all(index == "executions_pkey" for _, index in reads), reads
