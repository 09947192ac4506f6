"""The PostgreSQL store finds the rows a batch reads by their key, however the
tables grew, with or without autovacuum.

The batch's function (``writes.append_function``) runs from plans PostgreSQL
makes once per connection and keeps. Made without statistics (a new database,
before autovacuum's first ANALYZE), they looked up executions through
``executions_by_run`` on the project alone, and kept doing so as the table grew:
every completion read the project's every execution (a batch of 1,000 took 0.9 s
at 20,000 executions). So the server analyses a new database's tables once its
stores have written ``statistics.THRESHOLD`` executions (``statistics.py``).

These tests grow a project of 3,000 executions in a database autovacuum never
analyses, then count, in PostgreSQL's own statistics of each index, how the
batches after it read ``executions``: only through its primary key, never by a
scan. (They fail with the ANALYZE taken out: the reads go through
``executions_by_run``.)
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from coflux.orchestration.effects import Fact
from coflux.orchestration.states import ExecutionState
from coflux.store.postgres import statistics
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


def completed(*numbers: int) -> list[Fact]:
    return [f for k in numbers for f in facts.succeed(f"R:{k}:1", facts.T0 + 1)[1:]]


@pytest.fixture
def database() -> Iterator[str]:
    """A new database, which autovacuum never analyses."""
    cluster = postgres.shared_cluster()
    with postgres.fresh_database(cluster) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            for table in statistics.TABLES:
                conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        yield url


def index_reads(catalog: PostgresCatalog, url: str) -> dict[str, int]:
    """How often each index of ``executions`` was scanned, and the table itself, with
    what the catalog's one connection did so far reported (it reports when idle)."""
    with catalog._pool.connection() as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE relname = 'executions'"
        ).fetchall()
        seq = conn.execute(
            "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'executions'"
        ).fetchone()
    assert seq is not None
    return {**{name: int(count) for name, count in rows}, "(scan)": int(seq[0])}


def appended(catalog: PostgresCatalog, url: str, *batches: list[Fact]) -> dict[str, int]:
    """The index reads that appending ``batches`` made."""
    before = index_reads(catalog, url)
    store = catalog.open("p1")
    store.take_ownership()
    for batch in batches:
        store.append(batch)
    after = index_reads(catalog, url)
    return {name: after[name] - before.get(name, 0) for name in after}


def analysed(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return not statistics.never_analysed(conn)


@pytest.fixture
def grown(database: str) -> Iterator[PostgresCatalog]:
    """A project of 3,000 executions, grown through one connection (whose plans,
    made while the tables were small, are the ones the test's batches use)."""
    catalog = PostgresCatalog(database, max_connections=1)
    try:
        store = catalog.create("p1", "plans", facts.T0)
        store.append([facts.environment(), facts.session("s1"), *facts.start_run("R", facts.T0)])
        for first in range(2, EXECUTIONS + 2, 100):
            store.append(scheduled(first, 100))
        yield catalog
    finally:
        catalog.close()


def test_a_new_database_is_analysed_once_its_stores_wrote_enough(database: str) -> None:
    catalog = PostgresCatalog(database, max_connections=1)
    try:
        store = catalog.create("p1", "plans", facts.T0)
        store.append([facts.environment(), facts.session("s1"), *facts.start_run("R", facts.T0)])
        store.append(scheduled(2, statistics.THRESHOLD - 2))
        assert not analysed(database)
        store.append(scheduled(statistics.THRESHOLD, 1))
        assert analysed(database)
    finally:
        catalog.close()


@pytest.mark.parametrize("size", [1, 6, 1000])
def test_completions_read_executions_only_by_key(
    database: str, grown: PostgresCatalog, size: int
) -> None:
    # Completions update the executions' states, leave the working set and check
    # that what they name exists: every read of an execution is by its key.
    reads = appended(grown, database, completed(*range(100, 100 + size)))
    assert reads["executions_pkey"] >= size
    assert {name: count for name, count in reads.items() if name != "executions_pkey"} == {
        "executions_by_run": 0,
        "executions_by_leader": 0,
        "executions_project_id_step_id_attempt_key": 0,
        "(scan)": 0,
    }


def test_new_steps_check_their_parent_by_key(database: str, grown: PostgresCatalog) -> None:
    reads = appended(grown, database, scheduled(EXECUTIONS + 2, 3))
    assert reads["executions_pkey"] >= 1  # the parent, named by each step
    assert reads["executions_by_run"] == 0 and reads["(scan)"] == 0
