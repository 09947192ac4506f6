"""The store backends the contract suite runs against.

Each backend is a small class that creates fresh project stores through its
catalog, reopens one (close, then open the same project again through a new
catalog, as a restarted server would), and hands out more catalogs of the same
database (other servers). Every backend in ``BACKENDS`` runs every contract test;
a backend that needs a service fails, never skips, if the service is missing
(STYLE.md, practice 7).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from coflux.errors import Conflict
from coflux.store.base import ProjectCatalog, ProjectStore
from coflux.store.postgres.catalog import PostgresCatalog
from coflux.store.sqlite.catalog import SqliteCatalog
from tests.store.facts import T0
from tests.support import postgres


class Backend(Protocol):
    # What `append` raises when a fact contradicts the record.
    integrity_error: type[Exception]

    def create(self, project_id: str = "p1", name: str = "demo") -> ProjectStore: ...

    def reopen(self, store: ProjectStore) -> ProjectStore:
        """Close ``store`` and open the same project again."""
        ...

    def catalog(self) -> ProjectCatalog:
        """Another catalog of the same projects (what another server would open)."""
        ...

    def close_all(self) -> None: ...


class _CatalogBackend:
    integrity_error: type[Exception] = Conflict

    def __init__(self) -> None:
        self._catalogs: list[ProjectCatalog] = []
        self._stores: list[ProjectStore] = []
        self._main: ProjectCatalog | None = None

    def _new_catalog(self) -> ProjectCatalog:
        raise NotImplementedError

    def catalog(self) -> ProjectCatalog:
        catalog = self._new_catalog()
        self._catalogs.append(catalog)
        return catalog

    def create(self, project_id: str = "p1", name: str = "demo") -> ProjectStore:
        if self._main is None:
            self._main = self.catalog()
        store = self._main.create(project_id, name, T0)
        store.take_ownership()
        self._stores.append(store)
        return store

    def reopen(self, store: ProjectStore) -> ProjectStore:
        project_id = store.info().id
        store.close()
        reopened = self.catalog().open(project_id)
        reopened.take_ownership()
        self._stores.append(reopened)
        return reopened

    def close_all(self) -> None:
        for store in self._stores:
            store.close()
        for catalog in self._catalogs:
            catalog.close()


class SqliteBackend(_CatalogBackend):
    def __init__(self, tmp_path: Path) -> None:
        super().__init__()
        self.directory = tmp_path / "projects"

    def _new_catalog(self) -> ProjectCatalog:
        return SqliteCatalog(self.directory)


class PostgresBackend(_CatalogBackend):
    """A fresh database of the session's throwaway cluster (``tests/support/postgres.py``)."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__()
        self._cluster = postgres.shared_cluster()
        self._database = self._cluster.new_database()
        self.url = self._cluster.url(self._database)

    def _new_catalog(self) -> ProjectCatalog:
        # One server id for all: a reopened store is the same server restarted.
        return PostgresCatalog(self.url, server_id="the-server", max_connections=8)

    def close_all(self) -> None:
        super().close_all()
        self._cluster.drop_database(self._database)


BACKENDS: dict[str, Callable[[Path], Backend]] = {
    "sqlite": SqliteBackend,
    "postgres": PostgresBackend,
}
