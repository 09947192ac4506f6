"""Assets recorded through a project (facade, actor, store), on every store backend:
recorded once, restores recorded, unknown executions refused without harm."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coflux import protocol
from coflux.errors import Conflict, NotFound
from coflux.orchestration.effects import AssetRecorded, Fact
from coflux.orchestration.project import Project
from tests.store.backends import BACKENDS, Backend
from tests.store.facts import T0, busy_run, finished_run

KEY = "ab" * 32


def asset(asset_id: str, execution_id: str = "R2:1:1", path: str = "out") -> protocol.AssetInfo:
    entries = (
        protocol.AssetEntry(f"{path}/a.txt", 3, KEY),
        protocol.AssetEntry(f"{path}/b.txt", 4, KEY),
    )
    return protocol.AssetInfo(
        asset_id, execution_id, "directory", path, 7, 2, {"match": "*.txt"}, entries
    )


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
async def project(backend: Backend) -> AsyncIterator[tuple[Project, list[Fact]]]:
    store = backend.create()
    store.append([*finished_run(), *busy_run()])  # R2:1:1 is running
    published: list[Fact] = []
    project = await Project.open(
        store,
        session_timeout=30,
        clock=lambda: T0 + 100,
        send=lambda session, message: None,
        publish=lambda project_id, facts: published.extend(facts),
    )
    project.start()
    yield project, published
    await project.stop()
    backend.close_all()


async def test_an_asset_is_recorded_once_and_read_back(
    project: tuple[Project, list[Fact]], backend: Backend
) -> None:
    proj, published = project
    recorded = await proj.persist_asset("s1", asset("asset0001"))
    assert recorded == asset("asset0001")
    # A resent request records nothing new and gets the same answer.
    assert await proj.persist_asset("s1", asset("asset0001")) == recorded
    assert await proj.get_asset("asset0001") == recorded
    listed = await proj.list_run_assets("R2")
    assert [(a.id, a.execution_id, a.size, a.file_count) for a in listed.assets] == [
        ("asset0001", "R2:1:1", 7, 2)
    ]
    assert listed.assets[0].created_at == T0 + 100
    assert any(isinstance(f, AssetRecorded) and f.run_id == "R2" for f in published)


async def test_restores_are_recorded_against_the_restoring_execution(
    project: tuple[Project, list[Fact]],
) -> None:
    proj, _ = project
    await proj.persist_asset("s1", asset("asset0001"))
    restored = await proj.restore_asset("s2", "R2:4:1", "asset0001")
    assert restored.entries == asset("asset0001").entries
    listed = await proj.list_run_assets("R2")
    assert [(r.asset_id, r.execution_id) for r in listed.restores] == [("asset0001", "R2:4:1")]
    with pytest.raises(NotFound, match="asset nope does not exist"):
        await proj.restore_asset("s2", "R2:4:1", "nope")


async def test_executions_that_are_not_running_are_refused_harmlessly(
    project: tuple[Project, list[Fact]],
) -> None:
    proj, _ = project
    for execution_id in ("R9:1:1", "R1:1:1"):  # unknown; finished
        with pytest.raises(NotFound, match="not in progress"):
            await proj.persist_asset("s1", asset("asset0002", execution_id))
    await proj.persist_asset("s1", asset("asset0001"))
    with pytest.raises(NotFound, match="not in progress"):
        await proj.restore_asset("s2", "R9:1:1", "asset0001")
    # Another session's execution: an agent speaks only for its own.
    with pytest.raises(Conflict, match="not running in session s2"):
        await proj.persist_asset("s2", asset("asset0003", "R2:1:1"))
    with pytest.raises(Conflict, match="not running in session s1"):
        await proj.restore_asset("s1", "R2:4:1", "asset0001")
    # The actor carries on: nothing bad reached the store.
    assert (await proj.get_asset("asset0001")).execution_id == "R2:1:1"
    with pytest.raises(NotFound):
        await proj.get_asset("asset0002")


async def test_an_id_taken_by_another_execution_is_a_conflict(
    project: tuple[Project, list[Fact]],
) -> None:
    proj, _ = project
    await proj.persist_asset("s1", asset("asset0001"))
    with pytest.raises(Conflict, match="already taken"):
        await proj.persist_asset("s2", asset("asset0001", "R2:4:1"))


async def test_assets_survive_reopening(
    project: tuple[Project, list[Fact]], backend: Backend
) -> None:
    proj, _ = project
    await proj.persist_asset("s1", asset("asset0001"))
    await proj.restore_asset("s2", "R2:4:1", "asset0001")
    reopened = backend.reopen(proj.store)
    assert reopened.get_asset("asset0001") == asset("asset0001")
    assert len(reopened.list_run_assets("R2").restores) == 1
    assert reopened.list_run_assets("R1").assets == []
    assert reopened.get_asset("nope") is None
