"""The projects a server hosts: one store file and one running actor each.

Each project lives in ``<data dir>/projects/<id>.sqlite``. At start-up every
project is opened, its unfinished work restored, and its actor started, so that
session timeouts and queued work carry on after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from coflux import protocol
from coflux.errors import BadRequest, Conflict, NotFound
from coflux.orchestration.effects import Fact
from coflux.orchestration.project import Project, new_id
from coflux.store.sqlite.store import SqliteProjectStore
from coflux.views import ProjectInfo

logger = logging.getLogger(__name__)

PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Projects:
    def __init__(
        self,
        data_dir: Path,
        *,
        session_timeout: float,
        fsync: bool = False,
        clock: Callable[[], float],
        send: Callable[[str, str, protocol.ServerMessage], None],
        disconnect: Callable[[str], None] = lambda project_id: None,
        publish: Callable[[str, Sequence[Fact]], None],
    ) -> None:
        self._directory = data_dir / "projects"
        self._session_timeout = session_timeout
        self._fsync = fsync
        self._clock = clock
        self._send = send
        self._disconnect = disconnect
        self._publish = publish
        self._projects: dict[str, Project] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        for path in sorted(self._directory.glob("*.sqlite")):
            store = await asyncio.to_thread(SqliteProjectStore.open, path, fsync=self._fsync)
            self._add(store)
        logger.info("opened %d project(s) in %s", len(self._projects), self._directory)

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self._projects.values()))
        self._projects.clear()

    def _add(self, store: SqliteProjectStore) -> Project:
        info = store.info()
        project = Project(
            store,
            session_timeout=self._session_timeout,
            clock=self._clock,
            send=lambda session, message: self._send(info.id, session, message),
            publish=self._publish,
            disconnect=lambda: self._disconnect(info.id),
        )
        project.start()
        self._projects[info.id] = project
        return project

    def list(self) -> list[ProjectInfo]:
        return sorted((p.info for p in self._projects.values()), key=lambda i: i.created_at)

    def get(self, id_or_name: str) -> Project:
        project = self._projects.get(id_or_name)
        if project is None:
            project = next((p for p in self._projects.values() if p.info.name == id_or_name), None)
        if project is None:
            raise NotFound("unknown_project", f"project '{id_or_name}' does not exist")
        return project

    async def create(self, name: str) -> ProjectInfo:
        if not PROJECT_NAME.match(name):
            raise BadRequest(
                "invalid_name",
                f"invalid project name {name!r}: use letters, digits, '_', '.' or '-' "
                "(at most 64, starting with a letter or digit)",
            )
        async with self._lock:  # names are unique; two creations must not race
            if any(p.info.name == name for p in self._projects.values()):
                raise Conflict("project_exists", f"project '{name}' already exists")
            project_id = new_id(8)
            path = self._directory / f"{project_id}.sqlite"
            store = await asyncio.to_thread(
                SqliteProjectStore.create, path, project_id, name, self._clock(), fsync=self._fsync
            )
            return self._add(store).info
