"""Fixtures of the integration tests: a real server (and agents) per test.

``cluster`` runs each test once per storage setup: the embedded default (SQLite
files and blob files in the data directory), and the services a team runs
(PostgreSQL, a fresh database in the session's throwaway cluster,
``tests/support/postgres.py``; and S3, a fresh bucket of the session's moto
server, ``tests/support/s3.py``). They must behave the same, so every test that
drives the engine is a test of both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, Server
from tests.support.postgres import fresh_database, shared_cluster
from tests.support.s3 import S3Service, s3_service

__all__ = ["s3_service"]  # a fixture, used by `storage` below


@dataclass(frozen=True)
class Storage:
    """Where a test's server keeps its projects and blobs (None: the data directory)."""

    database: str | None = None
    blobs: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # the server's, for the services


STORAGES = ["sqlite", "postgres-s3"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using ``storage`` runs on each; one about the data directory's own
    files (``@pytest.mark.embedded_storage``) only on the embedded one."""
    if "storage" in metafunc.fixturenames:
        embedded = metafunc.definition.get_closest_marker("embedded_storage") is not None
        metafunc.parametrize("storage", STORAGES[:1] if embedded else STORAGES, indirect=True)


@pytest.fixture
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "sqlite":
        yield Storage()
        return
    service: S3Service = request.getfixturevalue("s3_service")
    bucket = f"coflux-{uuid.uuid4().hex[:12]}"
    service.client().create_bucket(Bucket=bucket)
    env = {
        **service.env(),
        # Only the variables above: no profile or shared files of the machine.
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
    }
    with fresh_database(shared_cluster()) as url:
        yield Storage(database=url, blobs=f"s3://{bucket}/coflux", env=env)


def start_server(tmp_path: Path, storage: Storage) -> Server:
    """A fresh server on ``storage``, its data directory under ``tmp_path``."""
    return Server(
        tmp_path / "data", database=storage.database, blobs=storage.blobs, env=storage.env
    ).start()


@pytest.fixture
def cluster(tmp_path: Path, storage: Storage) -> Iterator[Cluster]:
    """A fresh server with project 'test' and environment 'production'."""
    cluster = Cluster(start_server(tmp_path, storage), tmp_path)
    try:
        # Through the API, not the CLI: two commands' start-ups in every test add up
        # to minutes of the suite (the CLI's own commands have tests of their own).
        created = cluster.api("POST", "/api/projects", json={"name": "test"})
        assert created.status_code == 201, created.text
        created = cluster.api(
            "POST", "/api/projects/test/environments", json={"name": "production"}
        )
        assert created.status_code == 201, created.text
        yield cluster
    finally:
        cluster.stop()
