"""Counting an environment's recent runs by state (``count_runs``, what the activity
route and Studio's landing pages show), on every backend: the window's start is
inclusive, a run counts in the state of its first step's latest execution, and the
count reads the index by environment, state and time rather than the history.
"""

from __future__ import annotations

import sqlite3

import psycopg

from coflux.orchestration.states import ExecutionState as Q
from coflux.store.base import ProjectStore
from coflux.store.postgres import queries as postgres_queries
from coflux.store.sqlite import queries as sqlite_queries
from tests.store.backends import Backend, PostgresBackend, SqliteBackend
from tests.store.facts import ENV, T0, attempt, environment, fail, start_run, succeed, transition

DEV = "env-dev"
HOUR = 3600.0
DAY = 24 * HOUR
NOW = T0 + 30 * DAY


def seed(store: ProjectStore) -> None:
    """Production: one run before the week, one failure in the week but not the day,
    and in the day a failure, a success, a queued run, a cancelled one, and a run whose
    failed first attempt was retried into a success. Dev: one failure in the day."""
    store.append([environment(), environment(DEV, "dev", T0)])
    store.append(
        [
            *start_run("OLD", NOW - 8 * DAY), *succeed("OLD:1:1", NOW - 8 * DAY),
            *start_run("WEEK", NOW - 3 * DAY), *fail("WEEK:1:1", NOW - 3 * DAY),
            *start_run("FAIL", NOW - 2 * HOUR), *fail("FAIL:1:1", NOW - 2 * HOUR),
            *start_run("OK", NOW - HOUR), *succeed("OK:1:1", NOW - HOUR),
            *start_run("WAIT", NOW - 0.5 * HOUR),
            *start_run("STOP", NOW - 0.25 * HOUR),
            transition("STOP:1:1", Q.CANCELLED, NOW - 0.2 * HOUR),
            *start_run("RETRY", NOW - 0.1 * HOUR), *fail("RETRY:1:1", NOW - 0.1 * HOUR),
            *attempt("RETRY:1", 2, NOW - 0.05 * HOUR), *succeed("RETRY:1:2", NOW - 0.05 * HOUR),
            *start_run("DEV", NOW - HOUR, env_id=DEV), *fail("DEV:1:1", NOW - HOUR),
        ]
    )  # fmt: skip


def test_counts_by_environment_and_state_within_a_window(store: ProjectStore) -> None:
    seed(store)
    assert store.count_runs([ENV, DEV], NOW - DAY) == {
        ENV: {"failed": 1, "succeeded": 2, "queued": 1, "cancelled": 1},
        DEV: {"failed": 1},
    }
    assert store.count_runs([ENV], NOW - 7 * DAY) == {
        ENV: {"failed": 2, "succeeded": 2, "queued": 1, "cancelled": 1},
    }
    assert store.count_runs([ENV, DEV], NOW - 60 * DAY)[ENV]["succeeded"] == 3
    # Only the environments asked about; none at all, and none in a future window.
    assert store.count_runs([DEV], NOW - DAY) == {DEV: {"failed": 1}}
    assert store.count_runs([], NOW - DAY) == {}
    assert store.count_runs([ENV, DEV], NOW + 1) == {}


def test_the_window_starts_at_since_inclusive(store: ProjectStore) -> None:
    store.append([environment(), *start_run("EDGE", T0), *start_run("BEFORE", T0 - 0.001)])
    assert store.count_runs([ENV], T0) == {ENV: {"queued": 1}}


def test_a_count_follows_the_run_as_its_state_changes(store: ProjectStore) -> None:
    store.append([environment(), *start_run("R", T0)])
    assert store.count_runs([ENV], T0) == {ENV: {"queued": 1}}
    store.append([transition("R:1:1", Q.ASSIGNED, T0 + 1, "s1")])
    assert store.count_runs([ENV], T0) == {ENV: {"assigned": 1}}
    store.append([transition("R:1:1", Q.FAILED, T0 + 2, "s1")])
    assert store.count_runs([ENV], T0) == {ENV: {"failed": 1}}


def test_counts_read_the_index_by_environment_state_and_time(backend: Backend) -> None:
    store = backend.create()
    seed(store)
    environments, states = [ENV, DEV], [state.value for state in Q]
    if isinstance(backend, SqliteBackend):
        conn = sqlite3.connect(backend.directory / "p1.sqlite")
        try:
            conn.execute("ANALYZE")
            parameters = {
                "environments": f'["{ENV}", "{DEV}"]',
                "states": '["failed"]',
                "since": NOW - DAY,
            }
            plan = " | ".join(
                row[3]
                for row in conn.execute(
                    f"EXPLAIN QUERY PLAN {sqlite_queries.RUN_COUNTS}", parameters
                )
            )
        finally:
            conn.close()
        assert "COVERING INDEX runs_by_environment_state" in plan, plan
        assert "SCAN r" not in plan, plan
        return
    assert isinstance(backend, PostgresBackend)
    with psycopg.connect(backend.url, autocommit=True) as pg:
        pg.execute("ANALYZE runs")
        pg.execute("SET enable_seqscan = off")  # a small table: the plan as on a large one
        params = {"p": "p1", "environments": environments, "states": states, "since": NOW - DAY}
        rows = pg.execute(f"EXPLAIN {postgres_queries.RUN_COUNTS}", params).fetchall()
    plan = " | ".join(row[0] for row in rows)
    assert "runs_by_environment_state" in plan, plan
