"""What only the PostgreSQL backend has: its catalog's checks at start, its
migrations, its privileges, its sessions left clean, and its lazy import.

The behaviour every backend shares is in the ``test_contract*.py`` modules.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from coflux.errors import Conflict, Unavailable
from coflux.orchestration.effects import ExecutionLinked
from coflux.store import migrate
from coflux.store.catalogs import CannotOpenDatabase
from coflux.store.postgres import schema, writes
from coflux.store.postgres.catalog import PostgresCatalog, describe
from coflux.store.postgres.store import PostgresProjectStore
from tests.store.facts import T0, busy_run, finished_run, logs, register
from tests.support import postgres
from tests.support.cluster import free_port
from tests.support.eventually import eventually


@pytest.fixture
def cluster() -> postgres.Cluster:
    return postgres.shared_cluster()


@pytest.fixture
def empty(cluster: postgres.Cluster) -> Iterator[str]:
    """The URL of a new database with nothing in it."""
    with postgres.fresh_database(cluster, migrated=False) as url:
        yield url


@pytest.fixture
def migrated(cluster: postgres.Cluster) -> Iterator[str]:
    """The URL of a new database with the current schema and no project."""
    with postgres.fresh_database(cluster) as url:
        yield url


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description is not None else []


def tables(url: str) -> list[str]:
    rows = query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    return [str(name) for (name,) in rows]


def database_name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


def role(cluster: postgres.Cluster, url: str, name: str, *grants: str) -> str:
    """A new login role with ``grants`` in the database at ``url``; its URL there."""
    cluster.execute(f"CREATE ROLE {name} LOGIN")
    for grant in grants:
        query(url, f"GRANT {grant} TO {name}")
    return url.replace(f"//{cluster.user}@", f"//{name}@")


def refusal(url: str) -> str:
    with pytest.raises(CannotOpenDatabase) as refused:
        PostgresCatalog(url, connect_timeout=5).close()
    message = str(refused.value)
    assert "\n" not in message
    return message


# --- start: the one-line refusals -----------------------------------------------------


def test_describe_shows_a_database_without_its_password() -> None:
    assert describe("postgresql://u:secret@db.example:5433/coflux?sslmode=require") == (
        "postgresql://u@db.example:5433/coflux"
    )
    assert describe("postgresql:///coflux?host=/run/postgresql") == (
        "postgresql:///coflux?host=/run/postgresql"
    )
    assert describe("host=db user=u password=secret dbname=c") == "postgresql://u@db/c"
    assert "secret" not in describe("postgresql://u:secret@[::1/x")


def test_an_unreachable_database_is_refused_in_one_line(tmp_path: Path) -> None:
    message = refusal(f"postgresql://u:secret@/coflux?host={tmp_path}")
    assert message.startswith(f"cannot connect to postgresql://u@/coflux?host={tmp_path}: ")
    message = refusal(f"postgresql://u:secret@127.0.0.1:{free_port()}/coflux")
    assert message.startswith("cannot connect to postgresql://u@127.0.0.1:")
    assert "refused" in message and "secret" not in message


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:secret@127.0.0.1:notaport/db", "postgresql://u:secret@/db?nonsense=1"],
)
def test_a_wrong_url_is_refused_without_its_password(url: str) -> None:
    message = refusal(url)
    assert "secret" not in message
    assert "invalid" in message


def test_a_wrong_database_name_is_refused(cluster: postgres.Cluster) -> None:
    message = refusal(cluster.url("no_such_database"))
    assert "no_such_database" in message and "does not exist" in message


# --- migrations -----------------------------------------------------------------------

VERSIONS = [migration.version for migration in migrate.load_migrations(schema.MIGRATIONS)]


def test_an_empty_database_gets_the_schema_and_a_current_one_is_left_alone(
    empty: str,
) -> None:
    assert tables(empty) == []
    PostgresCatalog(empty, clock=lambda: 5.0).close()
    assert set(tables(empty)) == set(schema.TABLES)
    recorded = query(empty, "SELECT version, applied_at FROM migrations ORDER BY version")
    assert recorded == [(version, 5.0) for version in VERSIONS]
    with psycopg.connect(empty, autocommit=True) as conn:
        assert schema.migrate_postgres(conn) == []
    PostgresCatalog(empty, clock=lambda: 6.0).close()
    assert query(empty, "SELECT version, applied_at FROM migrations ORDER BY version") == recorded


def test_a_second_server_waits_for_the_lock_then_finds_the_schema(empty: str) -> None:
    opened: list[PostgresCatalog] = []
    with psycopg.connect(empty, autocommit=True) as holder, holder.transaction():
        # Another server holds the migration lock (in the middle of migrating).
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (schema.MIGRATION_LOCK,))
        starting = threading.Thread(target=lambda: opened.append(PostgresCatalog(empty)))
        starting.start()
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        eventually(lambda: holder.execute(waiting).fetchone() == (1,), 20)
        assert starting.is_alive() and not opened
        assert holder.execute("SELECT to_regclass('projects')").fetchone() == (None,)
    starting.join(timeout=30)
    assert len(opened) == 1
    opened[0].close()
    assert query(empty, "SELECT version FROM migrations ORDER BY version") == [
        (version,) for version in VERSIONS
    ]


def test_servers_starting_at_once_migrate_once(empty: str) -> None:
    start = threading.Barrier(4)

    def open_catalog() -> PostgresCatalog:
        start.wait(timeout=30)
        return PostgresCatalog(empty)

    with ThreadPoolExecutor(max_workers=4) as pool:
        catalogs = list(pool.map(lambda _: open_catalog(), range(4)))
    for catalog in catalogs:
        catalog.close()
    assert query(empty, "SELECT version FROM migrations ORDER BY version") == [
        (version,) for version in VERSIONS
    ]


def test_a_newer_schema_is_refused_before_anything_is_written(empty: str) -> None:
    query(empty, "CREATE TABLE migrations (version bigint PRIMARY KEY, applied_at float8)")
    query(empty, "INSERT INTO migrations VALUES (99, 0)")
    with pytest.raises(CannotOpenDatabase) as refused:
        PostgresCatalog(empty)
    assert isinstance(refused.value.__cause__, migrate.SchemaTooNew)
    assert "schema version 99" in str(refused.value) and "upgrade Coflux" in str(refused.value)
    assert tables(empty) == ["migrations"]


def test_a_newer_schema_on_a_migrated_database_is_refused(migrated: str) -> None:
    newer = VERSIONS[-1] + 1
    query(migrated, f"INSERT INTO migrations VALUES ({newer}, 0)")
    assert f"schema version {newer}" in refusal(migrated)


def test_a_failing_migration_leaves_nothing_of_itself(empty: str, tmp_path: Path) -> None:
    (tmp_path / "0001_initial.sql").write_text((schema.MIGRATIONS / "0001_initial.sql").read_text())
    (tmp_path / "0002_broken.sql").write_text(
        "CREATE TABLE half (x int);\nINSERT INTO nowhere VALUES (1);\n"
    )
    with psycopg.connect(empty, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable):
            schema.migrate_postgres(conn, tmp_path)
        assert schema.current_version(conn) == 1
    assert "half" not in tables(empty)


# --- privileges -----------------------------------------------------------------------


def test_a_user_that_may_not_create_the_schema_is_refused_and_nothing_is_made(
    cluster: postgres.Cluster, empty: str
) -> None:
    name = "nocreate_" + database_name(empty)
    message = refusal(role(cluster, empty, name))
    assert message.startswith(f"PostgreSQL user {name} lacks privileges on postgresql://{name}@/")
    assert "permission denied for schema public" in message
    assert tables(empty) == []


def test_a_user_that_may_only_read_is_refused_naming_what_it_lacks(
    cluster: postgres.Cluster, migrated: str
) -> None:
    name = "reader_" + database_name(migrated)
    url = role(cluster, migrated, name, "SELECT ON ALL TABLES IN SCHEMA public")
    message = refusal(url)
    assert f"PostgreSQL user {name} lacks privileges on" in message
    assert "INSERT on projects" in message and "UPDATE on executions" in message
    assert "DELETE on active_executions" in message and "SELECT on" not in message


def test_the_privileges_asked_for_are_enough_to_run_projects(
    cluster: postgres.Cluster, migrated: str
) -> None:
    name = "writer_" + database_name(migrated)
    url = role(
        cluster, migrated, name,
        "SELECT, INSERT ON ALL TABLES IN SCHEMA public",
        "UPDATE ON executions", "UPDATE ON runs", "DELETE ON active_executions",
        "UPDATE, DELETE ON servers", "UPDATE ON project_leases",
    )  # fmt: skip
    catalog = PostgresCatalog(url)
    try:
        store = catalog.create("p1", "demo", T0)
        store.append([*finished_run(), *busy_run(), logs(("R1:1:1", "hello", T0))])
        assert [r.id for r in store.list_runs()] == ["R2", "R1"]
        assert len(store.load_snapshot().executions) == 3
    finally:
        catalog.close()


# --- the catalog and its pool -----------------------------------------------------------


def test_two_servers_creating_one_name_at_once_make_one_project(migrated: str) -> None:
    catalogs = [PostgresCatalog(migrated) for _ in range(2)]
    start = threading.Barrier(len(catalogs))

    def create(attempt: tuple[int, int]) -> bool:
        round, index = attempt
        start.wait(timeout=30)
        try:
            catalogs[index].create(f"id{round}-{index}", "demo", T0)
        except Conflict as e:
            assert e.reason == "project_exists"
            return False
        return True

    try:
        for round in range(5):  # again, the name freed each round
            with ThreadPoolExecutor(max_workers=2) as pool:
                assert sorted(pool.map(create, [(round, 0), (round, 1)])) == [False, True]
            query(migrated, "UPDATE projects SET name = id")
        assert len(catalogs[0].project_ids()) == 5
    finally:
        for catalog in catalogs:
            catalog.close()


def test_connections_are_left_without_session_state(migrated: str) -> None:
    """Nothing prepared or created outside a transaction, so pgbouncer's transaction
    mode may hand the connection to anyone after each one."""
    catalog = PostgresCatalog(migrated, max_connections=1)
    try:
        store = catalog.create("p1", "demo", T0)
        store.append(finished_run())
        for n in range(10):  # psycopg would prepare a statement run 5 times
            store.append([logs(("R1:1:1", f"line {n}", T0 + n))])
            store.get_run("R1")
            store.list_logs("R1")
            store.load_snapshot()
        with catalog._pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
            temporary = "SELECT count(*) FROM pg_class WHERE relpersistence = 't'"
            assert conn.execute(temporary).fetchone() == (0,)
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        catalog.close()


def test_connections_the_database_dropped_are_replaced_before_use(
    cluster: postgres.Cluster, migrated: str
) -> None:
    catalog = PostgresCatalog(migrated, max_connections=3)
    try:
        store = catalog.create("p1", "demo", T0)
        store.append(finished_run())
        # Fill the pool: three readers at once each hold a connection.
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda _: store.get_run("R1"), range(30)))
        terminate = (
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            f" WHERE datname = '{database_name(migrated)}' AND pid <> pg_backend_pid()"
        )
        assert query(cluster.url(), terminate) >= [(1,)]
        # Every call after the database dropped them still succeeds, first time.
        store.append([logs(("R1:1:1", "after", T0 + 9))])
        assert [e.template for e in store.list_logs("R1")] == ["after"]
        assert store.get_run("R1") is not None
    finally:
        catalog.close()


def test_a_database_that_cannot_be_reached_is_unavailable_then_serves_again(
    cluster: postgres.Cluster, migrated: str
) -> None:
    catalog = PostgresCatalog(migrated, connect_timeout=1)
    database = database_name(migrated)
    try:
        store = catalog.create("p1", "demo", T0)
        store.append(finished_run())
        query(cluster.url(), f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        query(
            cluster.url(),
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'",
        )
        with pytest.raises(Unavailable) as refused:
            store.get_run("R1")
        assert (refused.value.reason, refused.value.status) == ("database_unavailable", 503)
        assert "\n" not in refused.value.message
        with pytest.raises(Unavailable):
            store.append(busy_run())
        query(cluster.url(), f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")

        def serves() -> bool:  # once the pool's next attempt to connect succeeds
            try:
                store.append(busy_run())
            except Unavailable:
                return False
            return True

        eventually(serves, 60, interval=0.2)
        assert [r.id for r in store.list_runs()] == ["R2", "R1"]
    finally:
        catalog.close()


def test_times_are_exact_whatever_the_sessions_float_output(migrated: str) -> None:
    """A session may print floats with 15 digits (extra_float_digits=0): reads are binary."""
    at = 1234567890.123456789
    catalog = PostgresCatalog(migrated + "&options=-c%20extra_float_digits%3D0")
    try:
        store = catalog.create("p1", "demo", at)
        store.append(finished_run())
        assert store.info().created_at == at
        store.append([logs(("R1:1:1", "x", at))])
        assert [e.timestamp for e in store.list_logs("R1")] == [at]
    finally:
        catalog.close()


def test_a_store_never_commits_on_the_event_loop(migrated: str) -> None:
    catalog = PostgresCatalog(migrated)
    try:
        store: PostgresProjectStore = catalog.create("p1", "demo", T0)
        assert store.inline_commit_limit == 0
        with pytest.raises(LookupError):
            PostgresProjectStore(catalog._pool, "nope", catalog.leases).info()
    finally:
        catalog.close()


def test_every_index_leads_with_the_project(migrated: str) -> None:
    rows = query(
        migrated,
        "SELECT i.indexrelid::regclass::text, a.attname"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        # The server's own tables; a token is found by its id alone (the token names no project).
        " WHERE c.relname NOT IN ('projects', 'migrations', 'servers', 'project_tokens',"
        " 'project_token_revocations')",
    )
    assert rows
    # A server renews its leases by owner (``leases.py``): the one index by server.
    others = {index: column for index, column in rows if column != "project_id"}
    assert others == {"project_leases_owner": "owner"}


def test_importing_coflux_or_the_server_does_not_load_psycopg() -> None:
    code = (
        "import sys, coflux, coflux.server.app, coflux.store.catalogs\n"
        "print(sorted(m for m in sys.modules if m.startswith('psycopg')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_batch_is_written_by_one_statement_unless_it_registers_or_links() -> None:
    """One statement is one round trip, parse and plan (``writes.py``); what needs an
    earlier statement's rows goes before it, in its transaction."""
    p = "p1"
    assert len(writes.Rows.collect(busy_run()).statements(p, 1)) == 1
    assert len(writes.Rows.collect(finished_run()).statements(p, 1)) == 1
    registering = [register("flows", "main"), register("flows", "main", at=T0 + 1)]
    # The manifest's content, one statement per registration, then the batch's
    # (here only its reference check: the environment must exist).
    assert len(writes.Rows.collect(registering).statements(p, 1)) == 4
    linked = [ExecutionLinked("R2:5:1", "R2", "R2:4:1", T0), logs(("R2:5:1", "x", T0))]
    assert len(writes.Rows.collect(linked).statements(p, 1)) == 2  # the link, then the rest


def test_the_schema_defines_the_batch_function_that_the_store_calls() -> None:
    """``coflux_append`` is generated from the tables' columns (``writes.py``) and
    created by a migration: the newest one defining it must hold today's text, so a
    migration adding a column also replaces the function (write it with
    ``writes.append_function()``)."""
    defining = [
        m for m in migrate.load_migrations(schema.MIGRATIONS) if "FUNCTION coflux_append(" in m.sql
    ]
    assert defining, "no migration creates coflux_append"
    assert writes.append_function() in defining[-1].sql
