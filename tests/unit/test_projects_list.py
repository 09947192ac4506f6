"""The server's list of projects never loses one that is being handed over."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from coflux.server.projects import Projects
from coflux.store.catalogs import open_catalog


async def test_a_project_handed_over_stays_listed_while_it_stops(tmp_path: Path) -> None:
    catalog = open_catalog(None, tmp_path)
    catalog.create("p1", "demo", time.time()).close()
    projects = Projects(
        catalog,
        session_timeout=5.0,
        clock=time.time,
        send=lambda project, session, message: None,
        publish=lambda project, facts: None,
    )
    await projects.start()
    try:
        project = projects.get("demo")
        stopping, release = asyncio.Event(), asyncio.Event()
        stop = project.stop

        async def slow_stop() -> None:  # a project with much to flush stops slowly
            stopping.set()
            await release.wait()
            await stop()

        project.stop = slow_stop  # type: ignore[method-assign]
        leaving = asyncio.create_task(projects._let_go(project, "handed over"))
        await stopping.wait()
        listed = {p.id: p for p in projects.list()}
        assert "p1" in listed  # it failed here: gone from the list until it had stopped
        assert listed["p1"].status == "unavailable"
        release.set()
        await leaving
        assert [p.id for p in projects.list()] == ["p1"]
    finally:
        await projects.stop()
