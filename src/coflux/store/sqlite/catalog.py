"""The SQLite catalog: a directory with one database file per project.

Each project lives in ``<directory>/<id>.sqlite``. Names are unique among the
projects this catalog has opened or created, checked under a lock: enough,
because one server at a time holds a data directory (``server/datadir.py``).

A file that cannot be opened (damaged, truncated, not a Coflux database, or a
copy named other than by the id of the project it holds) raises
``ProjectUnopenable`` naming the file, so the server lists it as unavailable and
the other projects serve.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection
from pathlib import Path

from coflux.errors import Conflict
from coflux.store.base import Placement, ProjectUnopenable
from coflux.store.sqlite.store import SqliteProjectStore


class SqliteCatalog:
    def __init__(self, directory: Path, *, fsync: bool = False) -> None:
        """
        Args:
            directory: where the project files are (created if missing).
            fsync: fsync every commit (survives power loss, not just the process dying).
        """
        self._directory = directory
        self._fsync = fsync
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}  # name -> id, of the projects opened or created
        directory.mkdir(parents=True, exist_ok=True)

    def __str__(self) -> str:
        return str(self._directory)

    @property
    def takeover_interval(self) -> None:
        return None  # the data directory's lock makes the catalog this server's alone

    def placement(self, serving: Collection[str]) -> Placement:
        every = self.project_ids()
        return Placement([p for p in every if p not in serving], [], every)

    def ownership(self) -> None:
        return None

    def owner_address(self, project_id: str) -> None:
        return None

    def tokens(self) -> None:
        return None  # this server's alone: it keeps them in its data directory

    def project_ids(self) -> list[str]:
        return sorted(path.stem for path in self._directory.glob("*.sqlite"))

    def _path(self, project_id: str) -> Path:
        return self._directory / f"{project_id}.sqlite"

    def open(self, project_id: str) -> SqliteProjectStore:
        path = self._path(project_id)
        try:
            store = SqliteProjectStore.open(path, fsync=self._fsync)
        except Exception as e:  # a damaged or foreign file can fail in any way
            detail = f"its database {path.name} could not be opened ({e})"
            raise ProjectUnopenable(project_id, detail, _modified(path), str(path)) from e
        info = store.info()
        if info.id != project_id:
            # A copy or a renamed file: opening it would let two files (and actors)
            # own one project, and which one won would depend on their names.
            store.close()
            detail = (
                f"its database {path.name} holds project {info.id} ({info.name}), "
                f"whose database must be named {info.id}.sqlite"
            )
            raise ProjectUnopenable(project_id, detail, _modified(path), str(path))
        with self._lock:
            self._names[info.name] = info.id
        return store

    def create(self, project_id: str, name: str, now: float) -> SqliteProjectStore:
        with self._lock:
            if name in self._names:
                raise Conflict("project_exists", f"project '{name}' already exists")
            store = SqliteProjectStore.create(
                self._path(project_id), project_id, name, now, fsync=self._fsync
            )
            self._names[name] = project_id
        return store

    def close(self) -> None:
        pass  # each store is closed by its owner; the catalog holds no connection


def _modified(path: Path) -> float:
    with contextlib.suppress(OSError):
        return path.stat().st_mtime
    return 0.0
