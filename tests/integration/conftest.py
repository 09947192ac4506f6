from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, Server


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A fresh server with project 'test' and environment 'production'."""
    server = Server(tmp_path / "data").start()
    cluster = Cluster(server, tmp_path)
    try:
        assert cluster.cli("projects", "create", "test").returncode == 0
        created = cluster.cli("environments", "create", "production")
        assert created.returncode == 0, created.stderr
        yield cluster
    finally:
        cluster.stop()
