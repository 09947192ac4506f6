"""Finding runs in a project's history (``find_runs``), on every backend: each filter,
both orders, and pages that neither repeat nor skip a run while runs are added.

The expected answers come from a model of the seeded runs written here, apart from
the store's SQL: each filter is a plain Python condition on that model.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import psycopg
import pytest

from coflux import protocol
from coflux.orchestration.effects import Fact
from coflux.orchestration.states import ExecutionState as Q
from coflux.store import codecs
from coflux.store.base import ProjectStore, RunQuery
from coflux.store.postgres import queries as postgres_queries
from coflux.store.postgres.catalog import PostgresCatalog
from coflux.store.sqlite import queries as sqlite_queries
from tests.store.backends import Backend, PostgresBackend, SqliteBackend
from tests.store.facts import (
    ENV,
    T0,
    attempt,
    environment,
    fail,
    start_run,
    step,
    succeed,
    transition,
    value,
)
from tests.support import postgres

DEV = "env-dev"
WORKFLOWS = [("flows", "main"), ("flows", "other"), ("tools", "main")]
CUSTOMERS = ["Ada Lovelace", "alan turing", "100% _sure_", 'quote "me" \\ back']
FINAL = [Q.QUEUED, Q.SUCCEEDED, Q.FAILED, Q.ASSIGNED, Q.CANCELLED]


@dataclass(frozen=True)
class Seeded:
    """What the model knows of one run."""

    id: str
    at: float
    environment_id: str
    repository: str
    target: str
    state: str
    key: str | None
    arguments: tuple[protocol.Value, ...]

    @property
    def text(self) -> str:
        """The arguments as recorded: what a search looks in (its first 10,000 characters)."""
        return codecs.encode(self.arguments)[:10_000]


def seeded(index: int, at: float | None = None) -> Seeded:
    repository, target = WORKFLOWS[index % 3]
    return Seeded(
        id=f"run{index:03d}",
        at=T0 + index if at is None else at,
        environment_id=DEV if index % 4 == 0 else ENV,
        repository=repository,
        target=target,
        state=FINAL[index % 5].value,
        key=f"key-{index}" if index % 7 == 0 else None,
        arguments=(value(f"order-{index:03d}"), value({"customer": CUSTOMERS[index % 4]})),
    )


def facts_of(run: Seeded) -> list[Fact]:
    root = f"{run.id}:1:1"
    found: list[Fact] = [
        *start_run(
            run.id, run.at, env_id=run.environment_id, repository=run.repository,
            target=run.target, key=run.key, arguments=run.arguments,
        ),
        # A call whose arguments are no run's: a search looks at the first step only.
        *step(run.id, 2, run.at, env_id=run.environment_id, parent=root, call_index=0,
              arguments=(value(f"child-of-{run.id}"),)),
    ]  # fmt: skip
    state = Q(run.state)
    if state is Q.SUCCEEDED:
        found += succeed(root, run.at + 0.25)
    elif state is Q.FAILED:
        found += fail(root, run.at + 0.25)
    elif state is Q.ASSIGNED:
        found.append(transition(root, Q.ASSIGNED, run.at + 0.25, "s1"))
    elif state is Q.CANCELLED:
        found.append(transition(root, Q.CANCELLED, run.at + 0.25))
    return found


RUNS = [seeded(index) for index in range(40)]
# Two runs recorded at the same time: the one appended later is "newer".
RUNS[21] = seeded(21, at=RUNS[20].at)


@pytest.fixture
def history(store: ProjectStore) -> ProjectStore:
    store.append([environment(), environment(DEV, "dev", T0)])
    for first in range(0, len(RUNS), 8):  # several batches, as a server records them
        store.append([fact for run in RUNS[first : first + 8] for fact in facts_of(run)])
    return store


def expected(query: RunQuery, runs: list[Seeded] = RUNS) -> list[str]:
    """The ids ``query`` selects from ``runs``, in its order (the model)."""

    def selected(run: Seeded) -> bool:
        checks = [
            query.environment_ids is None or run.environment_id in query.environment_ids,
            query.repository is None or run.repository == query.repository,
            query.target is None or run.target == query.target,
            query.states is None or run.state in query.states,
            query.since is None or run.at >= query.since,
            query.until is None or run.at < query.until,
            query.idempotency_key is None or run.key == query.idempotency_key,
            query.search is None
            or run.id == query.search
            or (len(query.search) >= 3 and query.search in run.text),
        ]
        return all(checks)

    # Appended in list order: a later index is the tie-break.
    ordered = sorted(enumerate(runs), key=lambda pair: (pair[1].at, pair[0]))
    ids = [run.id for _, run in ordered if selected(run)]
    return ids if query.oldest_first else ids[::-1]


QUERIES = {
    "everything": RunQuery(),
    "an environment": RunQuery(environment_ids=(DEV,)),
    "two environments": RunQuery(environment_ids=(DEV, ENV)),
    "no environment": RunQuery(environment_ids=()),
    "a repository": RunQuery(repository="tools"),
    "a target": RunQuery(target="main"),
    "a workflow": RunQuery(repository="flows", target="main"),
    "a workflow in an environment": RunQuery(
        environment_ids=(ENV,), repository="flows", target="other"
    ),
    "a state": RunQuery(states=("failed",)),
    "several states": RunQuery(states=("failed", "cancelled", "queued")),
    "a state no run is in": RunQuery(states=("timed_out",)),
    "a state in an environment": RunQuery(environment_ids=(ENV,), states=("succeeded",)),
    "states of a workflow in an environment": RunQuery(
        environment_ids=(ENV,), repository="flows", target="main", states=("succeeded", "failed")
    ),
    "since": RunQuery(since=T0 + 30),
    "until": RunQuery(until=T0 + 5),
    "a time range": RunQuery(since=T0 + 10, until=T0 + 20.5),
    "an idempotency key": RunQuery(idempotency_key="key-14"),
    "an unknown key": RunQuery(idempotency_key="key-15"),
    "a run id": RunQuery(search="run007"),
    "a short run id": RunQuery(search="r1"),
    "text in arguments": RunQuery(search="order-01"),
    "text is case-sensitive": RunQuery(search="Ada"),
    "LIKE's wildcards are plain text": RunQuery(search="100% _sure_"),
    "a wildcard alone is plain text": RunQuery(search="%_%"),
    "quotes and backslashes": RunQuery(search='"me\\" \\\\ back'),
    "only the first step's arguments": RunQuery(search="child-of-"),
    "shorter than three characters": RunQuery(search="or"),
    "text and other filters": RunQuery(search="turing", environment_ids=(ENV,), states=("failed",)),
    "everything at once": RunQuery(
        environment_ids=(ENV, DEV),
        repository="flows",
        target="main",
        states=("succeeded", "failed", "queued"),
        since=T0 + 2,
        until=T0 + 38,
        search="order-0",
    ),
}


@pytest.mark.parametrize("oldest_first", [False, True], ids=["newest-first", "oldest-first"])
@pytest.mark.parametrize("name", list(QUERIES))
def test_each_filter_finds_what_the_model_says(
    history: ProjectStore, name: str, oldest_first: bool
) -> None:
    query = replace(QUERIES[name], oldest_first=oldest_first)
    found = history.find_runs(query, limit=1000)
    assert [r.id for r in found.runs] == expected(query)


SEARCHES = [name for name, query in QUERIES.items() if query.search is not None]


@pytest.mark.parametrize("name", SEARCHES)
def test_a_search_in_many_runs_finds_the_same(
    history: ProjectStore, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # A text in more runs than FEW_MATCHES is looked for run by run, in order.
    for module in (sqlite_queries, postgres_queries):
        monkeypatch.setattr(module, "FEW_MATCHES", 1)
    for oldest_first in (False, True):
        query = replace(QUERIES[name], oldest_first=oldest_first)
        assert [r.id for r in history.find_runs(query, limit=1000).runs] == expected(query)
        assert walk(history, query, 2) == expected(query)


def test_the_model_is_not_trivial() -> None:
    # Each filter above selects some runs but not all, or none on purpose.
    sizes = {name: len(expected(query)) for name, query in QUERIES.items()}
    nothing = {"no environment", "a state no run is in", "an unknown key", "a short run id",
               "only the first step's arguments", "shorter than three characters",
               "a wildcard alone is plain text"}  # fmt: skip
    assert {name for name, size in sizes.items() if size == 0} == nothing
    assert [name for name, size in sizes.items() if size == len(RUNS)] == ["everything", "two environments"]  # fmt: skip


def test_a_summary_in_a_page_is_the_runs_summary(history: ProjectStore) -> None:
    page = history.find_runs(RunQuery(states=("failed", "succeeded")), limit=6)
    assert page.runs == [history.get_run_summary(r.id) for r in page.runs]
    assert {r.state for r in page.runs} == {"failed", "succeeded"}
    assert history.list_runs(limit=7) == history.find_runs(RunQuery(), limit=7).runs


def walk(
    store: ProjectStore,
    query: RunQuery,
    limit: int,
    between: Callable[[int], None] = lambda _: None,
) -> list[str]:
    """Every id of ``query``, page by page (``between(n)`` runs after page n)."""
    seen: list[str] = []
    after = None
    for number in range(1000):
        page = store.find_runs(query, after=after, limit=limit)
        assert len(page.runs) == len(page.positions) <= limit
        assert [at for at, _ in page.positions] == [r.created_at for r in page.runs]
        seen += [r.id for r in page.runs]
        if len(page.runs) < limit:
            return seen
        after = page.positions[-1]
        between(number)
    raise AssertionError("pages never ended")


@pytest.mark.parametrize("limit", [1, 3, 7])
@pytest.mark.parametrize(
    "name", ["everything", "several states", "a workflow in an environment", "a time range",
             "text in arguments", "everything at once"],
)  # fmt: skip
@pytest.mark.parametrize("oldest_first", [False, True], ids=["newest-first", "oldest-first"])
def test_pages_hold_every_run_once_in_order(
    history: ProjectStore, name: str, limit: int, oldest_first: bool
) -> None:
    query = replace(QUERIES[name], oldest_first=oldest_first)
    assert walk(history, query, limit) == expected(query)


def test_a_position_starts_a_page_in_either_order(history: ProjectStore) -> None:
    query = QUERIES["several states"]
    newest = expected(query)
    page = history.find_runs(query, limit=len(newest))
    assert [r.id for r in page.runs] == newest
    middle = len(newest) // 2
    # Past a run newest first: the older ones; oldest first: the newer ones.
    older = history.find_runs(query, after=page.positions[middle], limit=1000)
    assert [r.id for r in older.runs] == newest[middle + 1 :]
    oldest = replace(query, oldest_first=True)
    newer = history.find_runs(oldest, after=page.positions[middle], limit=1000)
    assert [r.id for r in newer.runs] == newest[:middle][::-1]
    assert history.find_runs(query, after=page.positions[-1]).runs == []


def test_runs_added_between_pages_bring_no_repeat_and_no_gap(history: ProjectStore) -> None:
    added: list[Seeded] = []

    def record_newer(page: int) -> None:
        # Newer than everything, with states, workflows and texts the query selects.
        run = seeded(100 + 5 * page + 1, at=T0 + 1000 + page)
        added.append(run)
        history.append(facts_of(run))

    query = RunQuery(states=("succeeded", "failed"), search="order-")
    before = expected(query)
    assert walk(history, query, 2, record_newer) == before  # newest first: they come first
    assert added and all(expected(query, [run]) for run in added)
    oldest = replace(query, oldest_first=True)
    added_now: list[Seeded] = []

    def record_more(page: int) -> None:
        run = seeded(300 + 5 * page + 2, at=T0 + 2000 + page)
        added_now.append(run)
        history.append(facts_of(run))

    # Oldest first: every run seen once, those added while paging at the end.
    seen = walk(history, oldest, 3, record_more)
    assert seen == expected(oldest, RUNS + added + added_now)
    assert seen[-len(added_now) :] == [run.id for run in added_now]


def test_a_state_filter_follows_the_latest_execution_of_the_first_step(
    store: ProjectStore,
) -> None:
    def ids(*states: str) -> list[str]:
        return [r.id for r in store.find_runs(RunQuery(states=states)).runs]

    store.append([environment(), *start_run("R1", T0), *start_run("R2", T0 + 1)])
    assert ids("queued") == ["R2", "R1"]
    store.append([*fail("R1:1:1", T0 + 2), transition("R2:1:1", Q.ASSIGNED, T0 + 2, "s1")])
    assert (ids("queued"), ids("failed"), ids("assigned")) == ([], ["R1"], ["R2"])
    # A child step's state is not its run's.
    store.append([*step("R2", 2, T0 + 3, parent="R2:1:1", call_index=0), *fail("R2:2:1", T0 + 3)])
    assert ids("failed") == ["R1"]
    # A re-run of the first step: the run is queued again, then what its new attempt is.
    store.append(attempt("R1:1", 2, T0 + 10))
    assert (ids("failed"), ids("queued")) == ([], ["R1"])
    store.append(succeed("R1:1:2", T0 + 11))
    assert ids("succeeded", "failed") == ["R1"]
    assert [(r.id, r.state) for r in store.find_runs(RunQuery()).runs] == [
        ("R2", "assigned"), ("R1", "succeeded"),
    ]  # fmt: skip


def test_a_search_reads_the_first_10000_characters_of_the_arguments(store: ProjectStore) -> None:
    long = "x" * 10_000 + "needle"
    store.append([environment(), *start_run("R1", T0, arguments=(value(long),))])
    store.append(start_run("R2", T0 + 1, arguments=(value("a needle"), value("Éclair ☕"))))
    assert [r.id for r in store.find_runs(RunQuery(search="needle")).runs] == ["R2"]
    assert [r.id for r in store.find_runs(RunQuery(search="Éclair ☕")).runs] == ["R2"]
    assert [r.id for r in store.find_runs(RunQuery(search="éclair")).runs] == []
    # The JSON as recorded: a string's quotes are part of it.
    assert [r.id for r in store.find_runs(RunQuery(search='"a needle"')).runs] == ["R2"]
    assert [r.id for r in store.find_runs(RunQuery(search="R1")).runs] == ["R1"]


# --- runs recorded before the migration (SQLite 0011, PostgreSQL 0007) -------------


def _revert_sqlite(backend: SqliteBackend, project_id: str) -> None:
    conn = sqlite3.connect(backend.directory / f"{project_id}.sqlite", isolation_level=None)
    try:
        back_to_version_10(conn)
    finally:
        conn.close()


def back_to_version_10(conn: sqlite3.Connection) -> None:
    """Undo 0011_run_history.sql and the migrations after it (and their records) in
    an SQLite project's database."""
    conn.execute("DROP INDEX IF EXISTS executions_by_leader")  # 0013_execution_leaders.sql
    for table in ("input_responses", "inputs"):  # 0012_inputs.sql
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP TABLE run_texts")
    for index in ("state", "environment_state", "environment_target",
                  "environment_target_state"):  # fmt: skip
        conn.execute(f"DROP INDEX runs_by_{index}")
    conn.execute("ALTER TABLE runs DROP COLUMN state")
    conn.execute("DELETE FROM migrations WHERE version >= 11")


def _revert_postgres(backend: PostgresBackend, project_id: str) -> None:
    with psycopg.connect(backend.url, autocommit=True) as conn:
        conn.execute("DROP INDEX executions_by_leader")  # 0009_execution_leaders.sql
        conn.execute("DROP TABLE input_responses, inputs")  # 0008_inputs.sql
        conn.execute("DROP INDEX steps_by_root_arguments")
        conn.execute("DROP INDEX runs_by_environment_target")
        conn.execute("ALTER TABLE runs DROP COLUMN state")  # and the indices with it
        conn.execute("DELETE FROM migrations WHERE version >= 7")


def test_runs_recorded_before_the_migration_are_found(backend: Backend) -> None:
    store = backend.create()
    store.append([environment(), environment(DEV, "dev", T0)])
    store.append([fact for run in RUNS for fact in facts_of(run)])
    queries = [QUERIES[name] for name in ("several states", "text in arguments", "everything at once")]  # fmt: skip
    before = [store.find_runs(query) for query in queries]
    store.close()
    revert: Any = _revert_sqlite if isinstance(backend, SqliteBackend) else _revert_postgres
    revert(backend, "p1")
    migrated = backend.catalog().open("p1")  # migrates it again
    migrated.take_ownership()
    assert [migrated.find_runs(query) for query in queries] == before
    assert [[r.id for r in page.runs] for page in before] == [expected(q) for q in queries]


def test_a_postgres_user_who_may_not_create_extensions_still_migrates_and_searches() -> None:
    # Without pg_trgm (a user without CREATE on the database may not create even a
    # trusted extension) there is no trigram index: a search then reads each run.
    cluster = postgres.shared_cluster()
    with postgres.fresh_database(cluster, migrated=False) as url:
        database = str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
        name = f"noext_{database}"
        cluster.execute(f"CREATE ROLE {name} LOGIN")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {name}")
        catalog = PostgresCatalog(url.replace(f"//{cluster.user}@", f"//{name}@"))
        try:
            store = catalog.create("p1", "demo", T0)
            store.append([environment(), environment(DEV, "dev", T0)])
            store.append([fact for run in RUNS for fact in facts_of(run)])
            for name_of_query in SEARCHES:
                query = QUERIES[name_of_query]
                assert [r.id for r in store.find_runs(query).runs] == expected(query)
        finally:
            catalog.close()
        with psycopg.connect(url, autocommit=True) as conn:
            found = conn.execute(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'steps_by_root_arguments'"
            ).fetchone()
        assert found == (0,)
