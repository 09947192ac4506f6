"""Liveness and readiness, for load balancers and orchestrators (``/health``, ``/ready``).

``/health`` answers 200 as long as the process serves HTTP at all: a failing
liveness probe means "restart me", which a database outage must not trigger
(a restart would not bring the database back). ``/ready`` answers 200 only once
the projects are loaded and while the store answers a query; otherwise 503, so
that a load balancer sends clients to another server until this one can serve.
A project that cannot be opened does not make the server unready: the other
projects serve, and that one is listed as unavailable (``server.projects``).

Neither needs a token (probes carry none) and neither names a project: the
answer is the server's status and which check failed, nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from coflux.store.base import ProjectCatalog

logger = logging.getLogger(__name__)

# Seconds the store has to answer a readiness query; a probe that waits longer
# than its own timeout (often 1-5 s) learns nothing.
STORE_CHECK_TIMEOUT = 2.0


@dataclass(slots=True)
class Readiness:
    """What ``/ready`` checks: the projects were loaded, and the store answers."""

    catalog: ProjectCatalog
    loaded: bool = False  # set once every project was opened at start-up

    async def problem(self) -> str | None:
        """Why the server cannot serve now, or None when it can."""
        if not self.loaded:
            return "the projects are still being loaded"
        try:
            # Listing the projects is one query on PostgreSQL, a directory read on SQLite.
            await asyncio.wait_for(asyncio.to_thread(self.catalog.project_ids), STORE_CHECK_TIMEOUT)
        except TimeoutError:
            return f"the store did not answer within {STORE_CHECK_TIMEOUT:g} s"
        except Exception as e:  # any failure of the store means the same: not ready
            logger.warning("readiness: the store cannot be read: %s", e)
            return "the store cannot be read"
        return None


async def health(request: Request) -> Response:
    """Liveness: the process is up and serving."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    """Readiness: 200 when the server can serve requests, else 503 with the reason."""
    readiness: Readiness = request.app.state.readiness
    problem = await readiness.problem()
    if problem is not None:
        return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
    return JSONResponse({"status": "ready"})
