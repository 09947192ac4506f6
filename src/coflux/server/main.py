"""Run the server: ``coflux server`` calls ``serve``.

Start-up goes in an order that lets a refusal change nothing: first the
listening socket is bound (a busy port is refused before the data directory is
even created), then the data directory is locked (a second server on it is
refused before any project is opened or migrated), and only then are the
projects opened. The socket is bound here and handed to uvicorn as is, so no
other process can take the port between the check and the serving.
"""

from __future__ import annotations

import errno
import logging
import socket
from pathlib import Path

import uvicorn

from coflux import protocol
from coflux.server.app import create_app
from coflux.server.datadir import DataDirectoryLock
from coflux.store.base import DEFAULT_LEASE_TTL

logger = logging.getLogger(__name__)

BACKLOG = 2048  # uvicorn's default


class CannotListen(OSError):
    """The server's address cannot be bound (``in_use``: another process has the port)."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.host = host
        self.port = port
        self.in_use = cause.errno == errno.EADDRINUSE


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening (port 0: any free port).

    Raises:
        CannotListen: the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Lets a restarted server bind while connections of the old one linger in
        # TIME_WAIT; a port that another socket listens on is still refused.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening at once: on Linux two SO_REUSEADDR sockets may both bind one
        # port until one of them listens.
        sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        raise CannotListen(host, port, e) from e
    return sock


def serve(
    host: str,
    port: int,
    data_dir: Path,
    session_timeout: float,
    admin_tokens: list[str],
    fsync: bool = False,
    database: str | None = None,
    blobs: str | None = None,
    advertise: str | None = None,
    lease_ttl: float = DEFAULT_LEASE_TTL,
) -> None:
    """Serve until interrupted (blocking).

    Args:
        host: the address to bind (127.0.0.1 by default: not exposed to the network).
        port: the TCP port.
        data_dir: where the project databases and blobs live; created if missing,
            and locked for as long as the server runs.
        session_timeout: seconds an agent may be unreachable before its running
            executions are abandoned.
        admin_tokens: when non-empty, every request must carry a token: one of
            these (admin), or a project token kept in the data directory.
        fsync: fsync every commit, so that recorded work also survives an OS crash
            or power loss (without it, it survives the server process dying).
        database: where the projects are kept: None for SQLite files in
            ``data_dir``, or a ``postgresql://`` URL (``coflux.store.catalogs``).
        blobs: where values and asset files are kept: None for files in
            ``data_dir``, or ``s3://bucket/prefix`` (``coflux.blobs``).
        advertise: this server's URL for the others sharing ``database`` (None:
            the bound address).
        lease_ttl: seconds this server owns its projects without a heartbeat, when
            several servers share ``database`` (``store/postgres/leases.py``).

    Raises:
        CannotListen: the address cannot be bound (nothing else was done).
        coflux.server.datadir.DataDirectoryInUse: another server holds the data
            directory (nothing in it was touched).
        coflux.store.catalogs.CannotOpenDatabase: the projects' database cannot be
            used (nothing was created in it).
        ValueError: ``blobs`` names no blob store this server can use.
    """
    with listen(host, port) as listener, DataDirectoryLock.acquire(data_dir):
        bound_host, bound_port = listener.getsockname()[:2]
        shown = f"[{bound_host}]" if listener.family == socket.AF_INET6 else bound_host
        app = create_app(
            data_dir,
            session_timeout=session_timeout,
            admin_tokens=frozenset(admin_tokens),
            fsync=fsync,
            database=database,
            blobs=blobs,
            address=advertise or f"http://{shown}:{bound_port}",
            lease_ttl=lease_ttl,
        )
        logger.info(
            "serving on http://%s:%d with data in %s", shown, bound_port, data_dir.resolve()
        )
        config = uvicorn.Config(
            app,
            # Logging is set up by the command (coflux.server.logconfig); uvicorn leaves it.
            log_config=None,
            log_level=None,
            ws="websockets-sansio",
            ws_per_message_deflate=False,  # agent messages are small; values go to blobs
            # Above the gateway's own limit, so that it refuses an oversized frame
            # with its protocol-error code; past twice that, the WebSocket layer's 1009.
            ws_max_size=2 * protocol.MAX_FRAME_BYTES,
            lifespan="on",
        )
        uvicorn.Server(config).run(sockets=[listener])
