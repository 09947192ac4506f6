"""A project's supervisor: a failed actor refuses everyone at once, is rebuilt from
its store, and serves again; what was not committed is reported to no one."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from coflux import protocol as P
from coflux.errors import ProjectUnavailable
from coflux.orchestration import core
from coflux.orchestration import events as ev
from coflux.orchestration import project as project_module
from coflux.orchestration.effects import Fact
from coflux.orchestration.project import Project
from coflux.store.sqlite.store import SqliteProjectStore
from tests.support.eventually import eventually_async

MANIFEST = P.Manifest(repository="r", targets=(P.TargetDefinition(name="w", type="workflow"),))


class FailingStore:
    """A real store whose next ``appends_failing`` appends (and ``loads_failing``
    snapshot loads) raise, as a full disk or a broken database would."""

    def __init__(self, inner: SqliteProjectStore) -> None:
        self.inner = inner
        self.appends_failing = 0
        self.loads_failing = 0

    def append(self, facts: Sequence[Fact]) -> None:
        if self.appends_failing:
            self.appends_failing -= 1
            raise sqlite3.OperationalError("database or disk is full")
        self.inner.append(facts)

    def load_snapshot(self) -> Any:
        if self.loads_failing:
            self.loads_failing -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return self.inner.load_snapshot()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Fixture:
    def __init__(self, path: Path) -> None:
        self.store = FailingStore(SqliteProjectStore.create(path, "p1", "demo", 1000.0))
        self.sent: list[tuple[str, P.ServerMessage]] = []
        self.disconnects = 0

    async def open(self) -> None:
        self.project = await Project.open(
            self.store,  # type: ignore[arg-type]
            session_timeout=30,
            clock=lambda: 1000.0,
            send=lambda session, message: self.sent.append((session, message)),
            publish=lambda project_id, facts: None,
            disconnect=self.disconnect,
        )

    def disconnect(self) -> None:
        self.disconnects += 1

    async def recovered(self) -> None:
        await eventually_async(lambda: self.project.failure is None, message="rebuilt")


@pytest.fixture
async def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fixture]:  # type: ignore[misc]
    monkeypatch.setattr(project_module, "REBUILD_DELAYS", (0.001, 0.01))
    fixture = Fixture(tmp_path / "p1.sqlite")
    await fixture.open()
    fixture.project.start()
    yield fixture
    await fixture.project.stop()


async def test_a_failed_commit_refuses_its_callers_and_the_project_is_rebuilt(fx: Fixture) -> None:
    project = fx.project
    await project.create_environment("production", None)
    fx.store.appends_failing = 1
    with pytest.raises(ProjectUnavailable) as refused:
        await project.create_environment("staging", None)
    assert refused.value.status == 503 and refused.value.reason == "project_unavailable"
    assert "database or disk is full" in str(refused.value)
    assert fx.disconnects == 1
    await fx.recovered()
    # What failed to commit never happened: the name is free, the rest is there.
    assert [e.name for e in await project.list_environments()] == ["production"]
    await project.create_environment("staging", None)
    assert [e.name for e in await project.list_environments()] == ["production", "staging"]


async def test_calls_while_failed_are_refused_at_once_and_posts_dropped(fx: Fixture) -> None:
    project = fx.project
    await project.create_environment("production", None)
    fx.store.appends_failing = 1
    fx.store.loads_failing = 3  # keeps the project failed for a few rebuilds
    with pytest.raises(ProjectUnavailable):
        await project.create_environment("staging", None)
    assert project.failure is not None
    with pytest.raises(ProjectUnavailable):
        await project.create_environment("dev", None)
    with pytest.raises(ProjectUnavailable):
        await project.list_agents("production")
    project.actor.post(ev.CreateEnvironment("x", "posted", None))  # dropped, not queued
    await fx.recovered()
    assert project.failures >= 4  # the failure and three failed rebuilds
    assert [e.name for e in await project.list_environments()] == ["production"]
    # Reads from the store never stopped working.
    assert await project.list_runs() == []


async def test_nothing_of_a_failed_batch_is_delivered(fx: Fixture) -> None:
    project = fx.project
    await project.create_environment("production", None)
    hello = P.Hello(protocol_version=P.PROTOCOL_VERSION, project="p1", environment="production")
    fx.store.appends_failing = 1
    with pytest.raises(ProjectUnavailable):
        await project.actor.call(ev.ConnectSession("s1", 1, "production", hello))
    assert fx.sent == []  # no Welcome for a session the store does not have
    await fx.recovered()
    await project.actor.call(ev.ConnectSession("s2", 2, "production", hello))
    assert [type(m).__name__ for _, m in fx.sent] == ["Welcome"]


async def test_waiters_hear_the_failure_and_the_run_carries_on_after_it(fx: Fixture) -> None:
    project = fx.project
    await project.create_environment("production", None)
    await project.register_manifests("production", (MANIFEST,))
    run_id, _ = await project.submit_run("production", "r", "w", (), None)
    waiter = asyncio.ensure_future(project.actor.wait_outcome(f"{run_id}:1:1", 30))
    await eventually_async(lambda: project.actor._waiting, message="waiting")
    fx.store.appends_failing = 1
    with pytest.raises(ProjectUnavailable):
        await project.create_environment("staging", None)
    with pytest.raises(ProjectUnavailable):
        await waiter
    await fx.recovered()
    # The run was committed before the failure, so it is still there, queued.
    [summary] = await project.list_runs()
    assert (summary.id, summary.state) == (run_id, "queued")
    assert project.actor.root_execution(run_id) == f"{run_id}:1:1"


async def test_a_bug_in_the_core_fails_the_project_which_is_rebuilt(
    fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = fx.project
    await project.create_environment("production", None)
    apply = core.apply

    def buggy(state: Any, event: Any, now: float) -> Any:
        if isinstance(event, ev.CreateEnvironment) and event.name == "boom":
            state.environments.clear()  # half-applied: memory no longer matches the store
            raise KeyError("boom")
        return apply(state, event, now)

    monkeypatch.setattr(core, "apply", buggy)
    with pytest.raises(ProjectUnavailable):
        await project.create_environment("boom", None)
    await fx.recovered()
    # Memory came back from the store, not from the half-applied event.
    await project.create_environment("staging", None)
    names = [e.name for e in await project.list_environments()]
    assert names == ["production", "staging"]


async def test_rerun_and_existence_checks_never_build_a_run_view(
    fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run view costs ~200 ms at 10,000 steps, during which the actor (a re-run)
    or a handler would wait: re-runs read a step record, checks a summary."""
    project = fx.project
    await project.create_environment("production", None)
    await project.register_manifests("production", (MANIFEST,))
    run_id, _ = await project.submit_run("production", "r", "w", (), None)
    await project.cancel_run(run_id)

    def no_view(run_id: str) -> None:
        raise AssertionError("a whole run view was built")

    monkeypatch.setattr(fx.store.inner, "get_run", no_view)
    execution_id = await project.rerun_step(f"{run_id}:1", None)
    assert execution_id == f"{run_id}:1:2"
    assert await project.cancel_run(run_id) == [execution_id]
    assert await project.list_logs(run_id, execution_id=None, after=0) == []
