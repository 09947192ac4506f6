"""The projects a server hosts: one store file and one running actor each.

Each project lives in ``<data dir>/projects/<id>.sqlite``. At start-up every
project is opened, its unfinished work restored, and its actor started, so that
session timeouts and queued work carry on after a restart.

A file that cannot be opened (damaged, truncated, not a Coflux database, or a
copy named other than by the id of the project it holds) must not keep the
other projects from serving: it is logged, listed as ``unavailable`` with the
reason, and every request for it is answered ``ProjectUnavailable`` (503). Its
name is unknown (it is in the file), so it goes by its id, the file's name. It is tried again only when the
server next starts: a damaged file does not heal by itself, and retrying while
an operator copies a backup into place could open it half-written. A project
whose actor has failed (``Project.failure``) is listed the same way while it is
being rebuilt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from coflux import protocol
from coflux.errors import BadRequest, Conflict, NotFound, ProjectUnavailable
from coflux.orchestration.effects import Fact
from coflux.orchestration.project import Project, new_id
from coflux.store.sqlite.store import SqliteProjectStore
from coflux.views import ProjectInfo

logger = logging.getLogger(__name__)

PROJECT_NAME = re.compile(protocol.NAME_PATTERN)


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
        # The files that could not be opened, as listed (see the module docstring).
        self._unavailable: dict[str, ProjectInfo] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        for path in sorted(self._directory.glob("*.sqlite")):
            await self._open(path)
        logger.info(
            "opened %d project(s) in %s (%d unavailable)",
            len(self._projects), self._directory, len(self._unavailable),
        )  # fmt: skip

    async def _open(self, path: Path) -> None:
        """Open and start the project in ``path``, or record why it cannot be."""
        try:
            store = await asyncio.to_thread(SqliteProjectStore.open, path, fsync=self._fsync)
        except Exception as e:  # a damaged or foreign file can fail in any way
            self._refuse(path, f"its database {path.name} could not be opened ({e})", e)
            return
        info = store.info()
        if info.id != path.stem:
            # A copy or a renamed file: opening it would let two files (and actors)
            # own one project, and which one won would depend on their names.
            await asyncio.to_thread(store.close)
            detail = (
                f"its database {path.name} holds project {info.id} ({info.name}), "
                f"whose database must be named {info.id}.sqlite"
            )
            self._refuse(path, detail)
            return
        try:
            self._add(store)
        except Exception as e:  # restoring its state failed: the same, for this project only
            await asyncio.to_thread(store.close)
            self._refuse(path, f"restoring {path.name} failed ({e})", e)

    def _refuse(self, path: Path, detail: str, error: Exception | None = None) -> None:
        project_id = path.stem
        logger.error("project file %s is unavailable until the server restarts: %s", path, detail)
        if error is not None:
            logger.debug("project file %s: the error", path, exc_info=error)
        modified = 0.0
        with contextlib.suppress(OSError):
            modified = path.stat().st_mtime
        self._unavailable[project_id] = ProjectInfo(
            id=project_id,
            name=project_id,
            # Unknown (it is in the file): the file's last change is the best we know.
            created_at=modified,
            status="unavailable",
            error=detail,
        )

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
        """Every project, oldest first, the unavailable ones with ``status`` and ``error``."""
        listed = [_listed(p) for p in self._projects.values()] + [*self._unavailable.values()]
        return sorted(listed, key=lambda i: i.created_at)

    def get(self, id_or_name: str) -> Project:
        """The project with this id or name.

        Raises:
            ProjectUnavailable: its file could not be opened at start-up (503).
            NotFound: there is no such project.
        """
        project = self._projects.get(id_or_name)
        if project is None:
            project = next((p for p in self._projects.values() if p.info.name == id_or_name), None)
        if project is not None:
            return project
        unavailable = self._unavailable.get(id_or_name)
        if unavailable is not None:
            raise ProjectUnavailable(unavailable.id, unavailable.error or "it cannot be opened")
        # A project the user knows by name may be one of those that did not open.
        hint = (
            f" ({len(self._unavailable)} project file(s) could not be opened: "
            "see `coflux projects list`)"
            if self._unavailable
            else ""
        )
        raise NotFound("unknown_project", f"project '{id_or_name}' does not exist{hint}")

    async def create(self, name: str) -> ProjectInfo:
        if not PROJECT_NAME.fullmatch(name):  # not match: '$' matches before a final newline
            raise BadRequest(
                "invalid_name",
                f"invalid project name {name!r}: use letters, digits, '_', '.' or '-' "
                "(at most 64, starting with a letter or digit)",
            )
        async with self._lock:  # names are unique; two creations must not race
            if any(p.info.name == name for p in self._projects.values()):
                raise Conflict("project_exists", f"project '{name}' already exists")
            if name in self._unavailable:
                raise Conflict("project_exists", f"project '{name}' exists, but is unavailable")
            project_id = new_id(8)
            path = self._directory / f"{project_id}.sqlite"
            store = await asyncio.to_thread(
                SqliteProjectStore.create, path, project_id, name, self._clock(), fsync=self._fsync
            )
            return self._add(store).info


def _listed(project: Project) -> ProjectInfo:
    """How a running project is listed: unavailable while its actor is being rebuilt."""
    failure = project.failure
    if failure is None:
        return project.info
    return msgspec.structs.replace(project.info, status="unavailable", error=failure)
