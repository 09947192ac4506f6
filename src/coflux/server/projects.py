"""The projects a server hosts: one store and one running actor each.

The projects are kept in a catalog (``coflux.store.base.ProjectCatalog``: a
directory of SQLite files by default, or a PostgreSQL database), chosen when
the server starts. At start-up every project is opened, its unfinished work
restored, and its actor started, so that session timeouts and queued work carry
on after a restart.

A project that cannot be opened (its file damaged, truncated, not a Coflux
database, or misnamed; ``ProjectUnopenable``) must not keep the other projects
from serving: it is logged, listed as ``unavailable`` with the reason, and every
request for it is answered ``ProjectUnavailable`` (503). Its name is unknown (it
is in the record that cannot be read), so it goes by its id. It is tried again
only when the server next starts: a damaged file does not heal by itself, and
retrying while an operator copies a backup into place could open it
half-written. A project whose actor has failed (``Project.failure``) is listed
the same way while it is being rebuilt.

When several servers share the catalog's database (``takeover_interval`` is not
None), each project is served by the one server that owns its lease
(``store/postgres/leases.py``). Every ``takeover_interval`` this server lets go
of the projects another server has acquired (``Project.lost``: their state and
agents are dropped), hands over those that belong on another live server (by
rendezvous hashing: a server that joined), and takes over those that belong here
or that no live server owns (their owner died or stopped), restoring their state
from the store as at start-up. The projects owned elsewhere are listed
``unavailable`` (with why); their requests are forwarded to the owner
(``forwarding.py``), and answered here ``ProjectOwnedElsewhere`` (503).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence

import msgspec

from coflux import protocol
from coflux.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ProjectOwnedElsewhere,
    ProjectUnavailable,
)
from coflux.orchestration.effects import Fact
from coflux.orchestration.project import Project, new_id
from coflux.store.base import ProjectCatalog, ProjectStore, ProjectUnopenable
from coflux.views import ProjectInfo

logger = logging.getLogger(__name__)

PROJECT_NAME = re.compile(protocol.NAME_PATTERN)

# Projects opened (their state restored from the store) at once: at start-up and
# when taking over those of a server that died. Each holds a database connection
# while it reads; the PostgreSQL pool has 10 by default.
_OPENING = 6
# Seconds after another server's lease should have run out at which to look at it
# again (the database's clock decides; this covers the round trip).
_AFTER_EXPIRY = 0.05


class Projects:
    def __init__(
        self,
        catalog: ProjectCatalog,
        *,
        session_timeout: float,
        clock: Callable[[], float],
        send: Callable[[str, str, protocol.ServerMessage], None],
        disconnect: Callable[[str], None] = lambda project_id: None,
        publish: Callable[[str, Sequence[Fact]], None],
    ) -> None:
        self._catalog = catalog
        self._session_timeout = session_timeout
        self._clock = clock
        self._send = send
        self._disconnect = disconnect
        self._publish = publish
        self._projects: dict[str, Project] = {}
        # The projects that could not be opened, as listed (see the module docstring).
        self._unavailable: dict[str, ProjectInfo] = {}
        # The projects another server owns (see the module docstring), as listed.
        self._elsewhere: dict[str, ProjectInfo] = {}
        self._lock = asyncio.Lock()
        self._takeovers: asyncio.Task[None] | None = None
        self.started_at = clock()

    @property
    def catalog(self) -> ProjectCatalog:
        return self._catalog

    async def start(self) -> None:
        await self._open_all(await asyncio.to_thread(self._catalog.project_ids))
        logger.info(
            "opened %d project(s) in %s (%d unavailable, %d owned by other servers)",
            len(self._projects), self._catalog, len(self._unavailable), len(self._elsewhere),
        )  # fmt: skip
        interval = self._catalog.takeover_interval
        if interval is not None:
            self._takeovers = asyncio.create_task(self._take_over(interval), name="takeovers")

    async def _take_over(self, interval: float) -> None:
        """Every ``interval``: let go of the projects lost to another server, hand
        over those that belong on another live server, and take over those that
        belong here or that no live server owns (see the module docstring)."""
        pause = interval
        while True:
            await asyncio.sleep(pause)
            pause = interval
            for project in [p for p in self._projects.values() if p.lost is not None]:
                await self._let_go(project, None)
            try:
                placement = await asyncio.to_thread(self._catalog.placement, set(self._projects))
            except Exception as e:  # the database is down: the leases cannot change either
                logger.warning("cannot look for projects to take over: %s", e)
                continue
            if placement.next_expiry is not None:
                # A lease of another server runs out before the next look: its owner
                # stopped renewing it (dead, or cut off). Look again just after,
                # rather than up to a whole interval later.
                pause = min(interval, max(placement.next_expiry, 0.0) + _AFTER_EXPIRY)
            for project_id in placement.hand_over:
                leaving = self._projects.get(project_id)
                if leaving is not None:
                    logger.info("handing project %s over to the server it belongs on", project_id)
                    await self._let_go(leaving, "handed over to the server it belongs on")
            known = self._projects.keys() | self._unavailable.keys() | self._elsewhere.keys()
            # Projects created by other servers since; then those to take over.
            opening = [*(i for i in placement.projects if i not in known), *placement.take]
            if opening:
                elsewhere = set(self._elsewhere)
                began = asyncio.get_running_loop().time()
                async with self._lock:
                    await self._open_all(opening)
                taken = [i for i in opening if i in elsewhere and i in self._projects]
                if taken:
                    logger.info(
                        "took %d project(s) over in %.2f s: %s", len(taken),
                        asyncio.get_running_loop().time() - began, ", ".join(taken),
                    )  # fmt: skip

    async def _let_go(self, project: Project, why: str | None) -> None:
        """Stop serving ``project``: lost to another server (``why`` None: its
        ``lost``), or handed over (its lease released as its store closes)."""
        async with self._lock:
            # Listed as elsewhere from the moment it stops being served here, not
            # once it has stopped: it must never vanish from the list meanwhile.
            detail = why or (project.lost.detail if project.lost else "")
            self._elsewhere_now(project.info, detail)
            self._projects.pop(project.info.id, None)
            await project.stop()
            self._disconnect(project.info.id)  # its agents reconnect to its new owner

    def _elsewhere_now(self, info: ProjectInfo, detail: str) -> None:
        self._elsewhere[info.id] = msgspec.structs.replace(info, status="unavailable", error=detail)

    async def _open_all(self, project_ids: Sequence[str]) -> None:
        """Open and start these projects, ``_OPENING`` at a time: restoring one is
        mostly waiting for the store, so a takeover of many (a server died) or a
        start-up restores them side by side."""
        gate = asyncio.Semaphore(_OPENING)

        async def open_one(project_id: str) -> None:
            async with gate:
                if project_id not in self._projects and project_id not in self._unavailable:
                    await self._open(project_id)

        await asyncio.gather(*(open_one(i) for i in dict.fromkeys(project_ids)))

    async def _open(self, project_id: str) -> None:
        """Open and start a project, or record why it cannot be (another server
        owns it, or it is damaged)."""
        try:
            store = await asyncio.to_thread(self._catalog.open, project_id)
        except ProjectUnopenable as e:
            where = e.location or str(self._catalog)
            self._refuse(project_id, e.detail, e.changed_at, e.__cause__ or e, where)
            return
        except Exception as e:  # a damaged record can fail in any way
            self._refuse(project_id, f"it could not be opened ({e})", 0.0, e)
            return
        try:
            await self._add(store)
        except ProjectOwnedElsewhere as e:
            info = await asyncio.to_thread(store.info)
            await asyncio.to_thread(store.close)
            self._elsewhere_now(info, e.detail)
            return
        except Exception as e:  # restoring its state failed: the same, for this project only
            await asyncio.to_thread(store.close)
            self._refuse(project_id, f"restoring it failed ({e})", 0.0, e)
            return
        self._elsewhere.pop(project_id, None)

    def _refuse(
        self,
        project_id: str,
        detail: str,
        changed_at: float,
        error: BaseException | None,
        where: str = "",
    ) -> None:
        logger.error(
            "project %s (%s) is unavailable until the server restarts: %s",
            project_id, where or self._catalog, detail,
        )  # fmt: skip
        if error is not None:
            logger.debug("project %s: the error", project_id, exc_info=error)
        self._unavailable[project_id] = ProjectInfo(
            id=project_id,
            name=project_id,
            # Unknown (it is in the record): when that last changed is the best we know.
            created_at=changed_at,
            status="unavailable",
            error=detail,
        )

    async def stop(self) -> None:
        if self._takeovers is not None:
            self._takeovers.cancel()
            await asyncio.gather(self._takeovers, return_exceptions=True)
        await asyncio.gather(*(p.stop() for p in self._projects.values()))
        self._projects.clear()
        await asyncio.to_thread(self._catalog.close)

    async def _add(self, store: ProjectStore) -> Project:
        # The callbacks run once it serves, after ``project`` is bound here.
        project = await Project.open(
            store,
            session_timeout=self._session_timeout,
            clock=self._clock,
            send=lambda session, message: self._send(project.info.id, session, message),
            publish=self._publish,
            disconnect=lambda: self._disconnect(project.info.id),
        )
        project.start()
        self._projects[project.info.id] = project
        return project

    def list(self) -> list[ProjectInfo]:
        """Every project, oldest first, the unavailable ones with ``status`` and ``error``."""
        listed = [
            *(_listed(p) for p in self._projects.values()),
            *self._unavailable.values(),
            *self._elsewhere.values(),
        ]
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
        elsewhere = self._elsewhere_info(id_or_name)
        if elsewhere is not None:
            raise ProjectOwnedElsewhere(elsewhere.id, elsewhere.error or "")
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

    def _elsewhere_info(self, id_or_name: str) -> ProjectInfo | None:
        return self._elsewhere.get(id_or_name) or next(
            (i for i in self._elsewhere.values() if i.name == id_or_name), None
        )

    def is_elsewhere(self, id_or_name: str) -> bool:
        return self._elsewhere_info(id_or_name) is not None

    @property
    def patience(self) -> float:
        """Long enough for a takeover after its owner died: a lease time (three
        looks) and two looks more; 0 for a catalog that is this server's alone."""
        interval = self._catalog.takeover_interval
        return 0.0 if interval is None else 5 * interval

    async def owner_of(self, id_or_name: str, wait: float = 0.0) -> str | None:
        """The address of the other server that owns this project (read from its
        lease now, so never stale); None when this server serves it, or no server
        does. While a takeover or hand-over leaves a project owned elsewhere without
        an owner, waits up to ``wait`` seconds for one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (info := self._elsewhere_info(id_or_name)) is not None:
            owner = await asyncio.to_thread(self._catalog.owner_address, info.id)
            if owner is not None or loop.time() >= deadline:
                return owner
            await asyncio.sleep(0.2)
        return None

    async def create(self, name: str) -> ProjectInfo:
        if not PROJECT_NAME.fullmatch(name):  # not match: '$' matches before a final newline
            raise BadRequest(
                "invalid_name",
                f"invalid project name {name!r}: use letters, digits, '_', '.' or '-' "
                "(at most 64, starting with a letter or digit)",
            )
        # The catalog keeps names unique (also against other servers); this lock only
        # keeps two creations here from both opening an actor for one name.
        async with self._lock:
            if name in self._unavailable:
                raise Conflict("project_exists", f"project '{name}' exists, but is unavailable")
            store = await asyncio.to_thread(self._catalog.create, new_id(8), name, self._clock())
            return (await self._add(store)).info


def _listed(project: Project) -> ProjectInfo:
    """How a running project is listed: unavailable while its actor is being rebuilt."""
    failure = project.failure
    if failure is None:
        return project.info
    return msgspec.structs.replace(project.info, status="unavailable", error=failure)
