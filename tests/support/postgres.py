"""A throwaway PostgreSQL cluster for the test session, and fresh databases in it.

The cluster is Debian's PostgreSQL (``/usr/lib/postgresql/*/bin``, installed by
``scripts/setup``), initialised in a temporary directory and reached only through a
unix socket in that directory, so it needs no free port and cannot meet another
cluster. ``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the
``postgres`` user. Durability is switched off (``fsync``, ``synchronous_commit``,
``full_page_writes``): a test's database dies with the test, and that makes
creating databases and committing batches several times faster. Never use these
settings for real data.

One cluster per test process (``shared_cluster``), started on first use and stopped
when the session ends (the ``postgres_cluster`` fixture, or at exit for callers
outside a fixture, such as the store backends). Each test gets its own database,
copied from a template that is migrated once, which is far cheaper than migrating
a new database per test.

A missing PostgreSQL fails the test that needs it: CI installs it, so a skip
would only hide that the backend went untested (STYLE.md, practice 7).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

TEMPLATE = "coflux_template"

# Settings for a disposable cluster only: they trade durability for speed.
_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
}


class PostgresMissing(RuntimeError):
    """PostgreSQL's server programs are not installed."""


def find_bindir() -> Path:
    """The newest installed PostgreSQL's ``bin`` directory.

    Raises:
        PostgresMissing: no ``initdb`` under ``/usr/lib/postgresql`` or on ``PATH``.
    """
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    raise PostgresMissing(
        "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin): "
        "run scripts/setup, which installs Debian's postgresql package"
    )


class Cluster:
    """A running throwaway cluster; ``url(database)`` reaches it as its superuser.

    ``settings`` replaces the test defaults (``_SETTINGS``, durability off) in
    ``postgresql.conf``: the benchmarks pass durable ones. The unix socket
    directory is always the cluster's own.
    """

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        self.settings = dict(_SETTINGS if settings is None else settings)
        self.bindir = find_bindir()
        self._as_postgres = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="coflux-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user = "postgres" if self._as_postgres else pwd.getpwuid(os.geteuid()).pw_name
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._running = False
        if self._as_postgres:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.root, ignore_errors=True)
                raise PostgresMissing(
                    "PostgreSQL's programs refuse to run as root, and there is no postgres "
                    "user to run them as: install Debian's postgresql package (scripts/setup)"
                ) from None
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    # --- life cycle -------------------------------------------------------------

    def start(self) -> None:
        # An ICU collation by default (en-US orders "a" before "B", and ignores
        # punctuation at first): queries that order text must not depend on it.
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--locale-provider=icu",
                  "--icu-locale=en-US", "--no-sync")  # fmt: skip
        settings = {**self.settings, "unix_socket_directories": f"'{self.root}'"}
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "start")
        self._running = True
        self._make_template()

    def stop(self) -> None:
        """Stop the server and delete its files (twice is harmless)."""
        if self._running:
            self._running = False
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr.strip()}\n{log[-2000:]}"
            )

    # --- databases --------------------------------------------------------------

    def url(self, database: str = "postgres", user: str | None = None) -> str:
        """A libpq URL reaching ``database`` over the cluster's unix socket."""
        return f"postgresql://{user or self.user}@/{database}?host={self.root}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run administrative SQL (autocommit, as the superuser)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)

    def _make_template(self) -> None:
        """A database holding the current schema and no project, to copy per test."""
        from coflux.store.postgres.catalog import PostgresCatalog

        self.execute(f"CREATE DATABASE {TEMPLATE}")
        PostgresCatalog(self.url(TEMPLATE)).close()

    def new_database(self, *, migrated: bool = True) -> str:
        """A new database's name: a copy of the migrated template, or empty."""
        with self._lock:
            name = f"test_{next(self._counter)}"
        template = TEMPLATE if migrated else "template0"
        self.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_shared: Cluster | None = None
_shared_lock = threading.Lock()


def shared_cluster() -> Cluster:
    """This process's cluster, started on first use and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            cluster = Cluster()
            try:
                cluster.start()
            except BaseException:
                cluster.stop()
                raise
            atexit.register(cluster.stop)
            _shared = cluster
        return _shared


def stop_shared_cluster() -> None:
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.stop()
            _shared = None


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The session's cluster (started once, stopped when the session ends)."""
    yield shared_cluster()
    stop_shared_cluster()


@contextlib.contextmanager
def fresh_database(cluster: Cluster, *, migrated: bool = True) -> Iterator[str]:
    """A new database's URL for the block; the database is dropped after it."""
    name = cluster.new_database(migrated=migrated)
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)
