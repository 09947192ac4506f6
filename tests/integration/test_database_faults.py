"""The PostgreSQL store's faults: lost connections, and the database going away.

Nothing recorded is lost, nothing hangs: while the database cannot be used, a
request that needs it is a clear 503 (one CLI line), and once it is back the
project is rebuilt from it and serves again, without anyone restarting the
server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.cluster import EXAMPLES, Cluster, Server
from tests.support.eventually import eventually
from tests.support.postgres import Cluster as PostgresCluster
from tests.support.postgres import fresh_database, shared_cluster


def _started(tmp_path: Path, url: str) -> Cluster:
    server = Server(tmp_path / "data", database=url).start()
    cluster = Cluster(server, tmp_path)
    assert cluster.cli("projects", "create", "test").returncode == 0
    assert cluster.cli("environments", "create", "production").returncode == 0
    cluster.start_agent(EXAMPLES / "hello.py")
    return cluster


def _greet(cluster: Cluster, name: str) -> str:
    done = cluster.cli("submit", "hello", "print_greeting", json.dumps(name), "--wait")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout))


def test_connections_killed_under_the_server_cost_at_most_one_refusal(tmp_path: Path) -> None:
    postgres = shared_cluster()
    with fresh_database(postgres) as url:
        cluster = _started(tmp_path, url)
        try:
            before = _greet(cluster, "Ann")
            database = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
            with psycopg.connect(postgres.url(), autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                ).fetchone()
            assert killed is not None and killed[0] >= 1  # the server's pooled connections
            outcomes = []
            for attempt in range(3):
                done = cluster.cli("submit", "hello", "print_greeting", f'"Bo{attempt}"', "--wait")
                outcomes.append(done)
                if done.returncode == 0:
                    break
                # A refusal is one line, saying the project is being rebuilt.
                assert "unavailable" in done.stderr, done.stderr
                assert len(done.stderr.strip().splitlines()) == 1, done.stderr
            assert outcomes[-1].returncode == 0, [o.stderr for o in outcomes]
            assert len(outcomes) <= 2
            # What was recorded before is all there.
            runs = json.loads(cluster.cli("runs", "list", "--json").stdout)
            first = runs[-1]["id"]
            result = cluster.cli("runs", "result", first)
            assert json.loads(result.stdout) == before
        finally:
            cluster.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A cluster of this test's own, which it may stop and start again."""
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.stop()


def test_the_database_going_away_is_a_503_and_the_server_recovers_when_it_is_back(
    tmp_path: Path, own_postgres: PostgresCluster
) -> None:
    with fresh_database(own_postgres) as url:
        cluster = _started(tmp_path, url)
        try:
            assert _greet(cluster, "Ann") == "Hello, Ann!"
            own_postgres._run("pg_ctl", "-D", str(own_postgres.data), "-m", "fast", "-w", "stop")

            # Writes are refused with one line, not hung.
            refused = cluster.cli("submit", "hello", "print_greeting", '"Bo"', timeout=60)
            assert refused.returncode != 0
            assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
            # Reads that need the database are a 503, not a hang or a 500.
            listed = httpx.get(cluster.server.url + "/api/projects/test/runs", timeout=60)
            assert listed.status_code == 503, listed.text

            own_postgres._run(
                "pg_ctl", "-D", str(own_postgres.data), "-l", str(own_postgres.log), "-w", "start"
            )

            # Reads come back first; a submit is refused (one line, changing
            # nothing) until the project is rebuilt, its lease acquired again.
            def greets() -> bool:
                done = cluster.cli("submit", "hello", "print_greeting", '"Cy"', "--wait")
                if done.returncode != 0:
                    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
                    return False
                return bool(json.loads(done.stdout) == "Hello, Cy!")

            eventually(greets, 90, message="the project to serve again")
            runs = json.loads(cluster.cli("runs", "list", "--json").stdout)
            assert len(runs) == 2  # Ann's, and Cy's: the refused one recorded nothing
        finally:
            cluster.stop()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://coflux:s3cret@/coflux?host=/nonexistent/socket/dir",  # unreachable
        "postgresql://coflux:s3cret@localhost:notaport/coflux",  # malformed
        "mysql://coflux:s3cret@localhost/coflux",  # no such backend
    ],
)
def test_a_database_that_cannot_be_used_is_one_line_and_no_server(tmp_path: Path, url: str) -> None:
    import subprocess

    from tests.support.cluster import base_env, coflux_command

    done = subprocess.run(
        coflux_command("server", "--port", "0", "--data-dir", str(tmp_path / "data")),
        env=base_env(COFLUX_DATABASE_URL=url), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot use the database" in lines[0], done.stderr
    assert "s3cret" not in done.stderr
