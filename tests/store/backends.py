"""The store backends the contract suite runs against.

Each backend is a small class that creates a fresh project store and reopens it
(close, then open the same project again). Adding PostgreSQL means adding one
class to ``BACKENDS``; when a backend needs a service, its fixture must fail, not
skip, if the service is missing in CI (STYLE.md, practice 7).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from coflux.errors import Conflict
from coflux.store.base import ProjectStore
from coflux.store.sqlite.store import SqliteProjectStore
from tests.store.facts import T0


class Backend(Protocol):
    # What `append` raises when a fact contradicts the record.
    integrity_error: type[Exception]

    def create(self, project_id: str = "p1", name: str = "demo") -> ProjectStore: ...

    def reopen(self, store: ProjectStore) -> ProjectStore:
        """Close ``store`` and open the same project again."""
        ...

    def close_all(self) -> None: ...


class SqliteBackend:
    integrity_error: type[Exception] = Conflict

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "project.sqlite"
        self._opened: list[SqliteProjectStore] = []

    def create(self, project_id: str = "p1", name: str = "demo") -> ProjectStore:
        store = SqliteProjectStore.create(self.path, project_id, name, T0)
        self._opened.append(store)
        return store

    def reopen(self, store: ProjectStore) -> ProjectStore:
        store.close()
        reopened = SqliteProjectStore.open(self.path)
        self._opened.append(reopened)
        return reopened

    def close_all(self) -> None:
        for store in self._opened:
            store.close()


BACKENDS: dict[str, Callable[[Path], Backend]] = {"sqlite": SqliteBackend}
