"""Choosing where a server keeps its projects: ``coflux server --database``.

No URL (the default) keeps each project in a SQLite file under the data
directory; a ``postgresql://`` URL (a libpq URL: ``postgresql:///coflux?host=
/run/postgresql`` for a unix socket) keeps them all in one PostgreSQL database.
The PostgreSQL driver is imported only when it is used.
"""

from __future__ import annotations

from pathlib import Path

from coflux.store.base import DEFAULT_LEASE_TTL, ProjectCatalog

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class CannotOpenDatabase(Exception):
    """The projects' database cannot be used: unreachable, refused, too new, ...

    Its message is one line for the operator, without the URL's password.
    """


class UnsupportedDatabase(CannotOpenDatabase):
    """A ``--database`` that names no backend, or an option the backend lacks."""


def open_catalog(
    url: str | None,
    data_dir: Path,
    *,
    fsync: bool = False,
    address: str = "",
    lease_ttl: float = DEFAULT_LEASE_TTL,
) -> ProjectCatalog:
    """The catalog for ``url`` (None: SQLite files in ``data_dir/projects``).

    ``address`` is where other servers reach this one, and ``lease_ttl`` how long
    it owns its projects without a heartbeat, when several share a PostgreSQL
    database (``store/postgres/leases.py``); the server's id among them is kept in
    ``data_dir``.

    Raises:
        UnsupportedDatabase: an unknown scheme, or ``fsync`` with PostgreSQL (which
            has its own durability settings).
        Whatever the backend raises when its database cannot be reached or migrated.
    """
    if url is None or url == "sqlite":
        from coflux.store.sqlite.catalog import SqliteCatalog

        return SqliteCatalog(data_dir / "projects", fsync=fsync)
    if url.startswith(POSTGRES_SCHEMES):
        if fsync:
            raise UnsupportedDatabase(
                "--fsync is an option of the SQLite store; PostgreSQL makes commits durable"
                " by its own settings (synchronous_commit)"
            )
        from coflux.store.postgres.catalog import PostgresCatalog
        from coflux.store.postgres.leases import server_id

        return PostgresCatalog(
            url, server_id=server_id(data_dir), address=address, lease_ttl=lease_ttl
        )
    # Never the whole URL: it may hold a password.
    shown = url.split("://", 1)[0] + "://..." if "://" in url else "that value"
    raise UnsupportedDatabase(
        f"--database {shown} is not a database this server knows: give a postgresql:// URL,"
        " or leave it out for SQLite files in the data directory"
    )
