"""Run the server: ``coflux server`` calls ``serve``."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from coflux.server.app import create_app

logger = logging.getLogger(__name__)


def serve(
    host: str,
    port: int,
    data_dir: Path,
    session_timeout: float,
    tokens: list[str],
    fsync: bool = False,
) -> None:
    """Serve until interrupted (blocking).

    Args:
        host: the address to bind (127.0.0.1 by default: not exposed to the network).
        port: the TCP port.
        data_dir: where the project databases and blobs live; created if missing.
        session_timeout: seconds an agent may be unreachable before its running
            executions are abandoned.
        tokens: when non-empty, every request must carry one of these tokens.
        fsync: fsync every commit, so that recorded work also survives an OS crash
            or power loss (without it, it survives the server process dying).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(
        data_dir, session_timeout=session_timeout, tokens=frozenset(tokens), fsync=fsync
    )
    logger.info("serving on http://%s:%d with data in %s", host, port, data_dir.resolve())
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,  # agent messages are small; values go to blobs
        lifespan="on",
    )
