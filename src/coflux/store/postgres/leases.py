"""Which server owns which project, when several share one PostgreSQL database.

Each project is written by exactly one server at a time: its *owner*, which holds
the project's lease (``project_leases``, created by migration 0004) until the
lease expires. Every time clock here is the database's (``now()``), so servers
whose clocks disagree still agree on who owns what.

* ``acquire`` takes a project whose lease has expired (or was never taken, or is
  this server's own from before a restart: the data directory's lock makes sure
  the earlier process is gone) and increments its *epoch*. The store writes with
  that epoch (``coflux_append`` checks it under a share lock in the batch's own
  transaction), so once another server has acquired the project, a batch of the
  old owner fails (``ProjectOwnedElsewhere``) instead of committing, however late
  it arrives.
* ``heartbeat`` is the one statement a server sends every ``ttl / 3`` seconds,
  whatever the number of projects: it records the server as alive and renews all
  its leases, returning those it still holds, so a server learns at its next
  heartbeat that it lost a project.
* ``release`` ends a lease at once (a server stopping gracefully), so another
  server takes the project over without waiting for it to expire.

Session-level advisory locks are not used: they vanish silently with a dropped
connection and leave two servers each believing it owns the project.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from psycopg_pool import ConnectionPool

from coflux.store.base import DEFAULT_LEASE_TTL, Lease, Placement, ServerRecord
from coflux.store.postgres.reads import Conn

SERVER_ID_FILE = "server-id"


def server_id(data_dir: Path) -> str:
    """The id this server goes by among those sharing the database: created once
    and kept in its data directory (whose lock the server holds, ``server/datadir.py``).

    So a server restarted on the same directory is the same server, and the lock
    makes sure that the process before it is gone: it takes that process's leases
    back at once instead of waiting for them to expire.
    """
    path = data_dir / SERVER_ID_FILE
    with contextlib.suppress(FileNotFoundError):
        recorded = path.read_text().strip()
        if recorded:
            return recorded
    new = uuid.uuid4().hex
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(SERVER_ID_FILE + ".partial")
    partial.write_text(new + "\n")
    os.replace(partial, path)  # never a half-written id
    return new


def preferred_server(project_id: str, servers: Sequence[str]) -> str:
    """The server a project belongs on, among ``servers`` (rendezvous hashing): each
    server ranks the project by a hash of both names and the highest wins. Every
    server computes the same answer from the same live set, and a server joining or
    leaving moves only the projects it wins or held."""
    return max(servers, key=lambda s: hashlib.sha256(f"{project_id}\0{s}".encode()).digest())


_HEARTBEAT = """
WITH alive AS (
    INSERT INTO servers (id, address, started_at, heartbeat_at)
    VALUES (%(server)s, %(address)s, now(), now())
    ON CONFLICT (id) DO UPDATE SET address = excluded.address, heartbeat_at = now()
)
UPDATE project_leases SET expires_at = now() + make_interval(secs => %(ttl)s)
WHERE owner = %(server)s AND expires_at > now()
RETURNING project_id, epoch
"""

_ACQUIRE = """
INSERT INTO project_leases AS l (project_id, owner, address, epoch, expires_at)
VALUES (%(project)s, %(server)s, %(address)s, 1, now() + make_interval(secs => %(ttl)s))
ON CONFLICT (project_id) DO UPDATE
SET owner = excluded.owner, address = excluded.address, epoch = l.epoch + 1,
    expires_at = excluded.expires_at
WHERE l.expires_at <= now() OR l.owner = excluded.owner
RETURNING epoch
"""

_RELEASE = """
UPDATE project_leases SET expires_at = now()
WHERE project_id = %(project)s AND owner = %(server)s AND epoch = %(epoch)s
"""

# A ``Lease``'s columns.
_LEASE_ROW = """
SELECT project_id, owner, address, epoch, extract(epoch FROM expires_at)::float8,
       expires_at > now()
FROM project_leases"""

_LEASES = _LEASE_ROW + " ORDER BY project_id"
_LEASE = _LEASE_ROW + " WHERE project_id = %(project)s"

# Every project: its lease's owner (NULL: never owned), whether the lease is live,
# whether it has been free for a whole lease time, and seconds until it expires.
_PLACEMENT = """
SELECT p.id, l.owner, l.expires_at > now(),
       l.expires_at <= now() - make_interval(secs => %(ttl)s),
       extract(epoch FROM l.expires_at - now())::float8
FROM projects p LEFT JOIN project_leases l ON l.project_id = p.id
ORDER BY p.created_at, p.id
"""

_LIVE_SERVERS = """
SELECT id FROM servers WHERE heartbeat_at > now() - make_interval(secs => %(ttl)s)
"""

_SERVERS = """
SELECT id, address, extract(epoch FROM started_at)::float8,
       extract(epoch FROM heartbeat_at)::float8,
       heartbeat_at > now() - make_interval(secs => %(ttl)s)
FROM servers ORDER BY started_at, id
"""


class Leases:
    """One server's side of the leases (see the module docstring)."""

    def __init__(
        self,
        pool: ConnectionPool[Conn],
        server_id: str,
        address: str,
        ttl: float = DEFAULT_LEASE_TTL,
    ) -> None:
        self.server_id = server_id
        self.address = address
        self.ttl = ttl
        self._pool = pool

    def _params(self, **more: Any) -> dict[str, Any]:
        return {"server": self.server_id, "address": self.address, "ttl": self.ttl, **more}

    def heartbeat(self) -> dict[str, int]:
        """Record this server as alive and renew its unexpired leases.

        Returns:
            The projects it still owns, with their epochs.
        """
        with self._pool.connection() as conn:
            rows = conn.execute(_HEARTBEAT, self._params()).fetchall()
        return {project_id: epoch for project_id, epoch in rows}

    def acquire(self, project_id: str) -> int | None:
        """Own ``project_id`` if its lease is free (expired, never taken, or this
        server's own), with a new epoch; None if another server holds it."""
        with self._pool.connection() as conn:
            row = conn.execute(_ACQUIRE, self._params(project=project_id)).fetchone()
        return None if row is None else int(row[0])

    def release(self, project_id: str, epoch: int) -> None:
        """End this server's lease of ``project_id`` at ``epoch`` now (if it still
        holds it), so that another server can acquire it at once."""
        with self._pool.connection() as conn:
            conn.execute(_RELEASE, self._params(project=project_id, epoch=epoch))

    def leave(self) -> None:
        """Release every lease this server holds and remove its record: a graceful stop."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "UPDATE project_leases SET expires_at = now()"
                " WHERE owner = %(server)s AND expires_at > now()",
                self._params(),
            )
            conn.execute("DELETE FROM servers WHERE id = %(server)s", self._params())

    def owner(self, project_id: str) -> Lease | None:
        """The project's lease (live or expired), or None if none was ever taken."""
        with self._pool.connection() as conn:
            row = conn.execute(_LEASE, {"project": project_id}).fetchone()
        return None if row is None else Lease(*row)

    def placement(self, serving: Collection[str]) -> Placement:
        """Which projects this server should take over and which it should hand
        over, by rendezvous hashing over the live servers (see ``Placement``);
        ``serving``: the projects it serves now."""
        with self._pool.connection() as conn:
            live = [str(r[0]) for r in conn.execute(_LIVE_SERVERS, self._params()).fetchall()]
            rows = conn.execute(_PLACEMENT, self._params()).fetchall()
        me = self.server_id
        take: list[str] = []
        hand_over: list[str] = []
        next_expiry: float | None = None
        for project_id, owner, held, long_free, remaining in rows:
            if held and owner != me:
                next_expiry = remaining if next_expiry is None else min(next_expiry, remaining)
            preferred = preferred_server(project_id, live or [me])
            if project_id in serving:
                if preferred != me:
                    hand_over.append(project_id)
            elif (
                owner is None
                # Its own live lease (a restart on the same data directory): at once.
                # Not one it released (a hand-over): taking that back before the
                # server it belongs on does would bounce the project between them.
                or (owner == me and held)
                or (not held and (preferred == me or long_free))
            ):
                take.append(project_id)
        return Placement(take, hand_over, [str(row[0]) for row in rows], next_expiry)

    def leases(self) -> list[Lease]:
        """Every project's lease, for ``coflux server status``."""
        with self._pool.connection() as conn:
            return [Lease(*row) for row in conn.execute(_LEASES).fetchall()]

    def servers(self) -> list[ServerRecord]:
        """Every server recorded, live or not."""
        with self._pool.connection() as conn:
            rows: Sequence[tuple[Any, ...]] = conn.execute(_SERVERS, self._params()).fetchall()
        return [ServerRecord(*row) for row in rows]
