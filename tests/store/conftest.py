"""Fixtures of the store tests: every test taking ``store`` runs once per backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coflux.store.base import ProjectStore
from tests.store.backends import BACKENDS, Backend


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    instance = BACKENDS[request.param](tmp_path)
    yield instance
    instance.close_all()


@pytest.fixture
def store(backend: Backend) -> ProjectStore:
    return backend.create()
