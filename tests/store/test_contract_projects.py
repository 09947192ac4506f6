"""Contract: projects side by side. Two projects' data never mix, and a name is
taken once, however many create it at once.

For SQLite each project is its own file; for PostgreSQL all share the same tables,
so these tests give both projects the very same ids (environment, run, session,
asset, keys) and check that every read returns only its own project's rows.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import msgspec
import pytest

from coflux import protocol
from coflux.errors import Conflict
from coflux.orchestration.effects import (
    AssetRecorded,
    AssetRestored,
    ExecutionCreated,
    ExecutionTransitioned,
    Fact,
    StepCreated,
)
from coflux.orchestration.states import ExecutionState
from coflux.store.base import ProjectStore
from coflux.views import TransitionView
from tests.store.backends import Backend
from tests.store.facts import (
    ENV,
    T0,
    busy_run,
    environment,
    logs,
    register,
    session,
    start_run,
    step,
    succeed,
    transition,
    value,
)

KEY = "ab" * 32


def cached(facts: list[Fact], key: str) -> list[Fact]:
    return [
        msgspec.structs.replace(f, cache_key=key, memo_key=key) if isinstance(f, StepCreated) else f
        for f in facts
    ]


def project_facts(label: str, offset: float) -> list[Fact]:
    """The same ids in every project; names, values and times tell them apart."""
    asset = protocol.AssetInfo(
        id="asset-1",
        execution_id="R1:2:1",
        kind="file",
        path=f"{label}.txt",
        size=len(label),
        file_count=1,
        metadata={"label": label},
        entries=(protocol.AssetEntry(path=f"{label}.txt", size=len(label), blob=KEY),),
    )
    with_secret = msgspec.structs.replace(session("s1"), secret_sha256=label[0] * 64)
    return [
        environment(ENV, f"env-{label}", T0 + offset),
        with_secret,
        register("flows", f"main_{label}", at=T0 + offset),
        *start_run("R1", T0 + offset, target=f"main_{label}", key="order-1"),
        transition("R1:1:1", ExecutionState.ASSIGNED, T0 + offset, "s1"),
        *cached(step("R1", 2, T0 + offset, parent="R1:1:1", call_index=0), "k"),
        *succeed("R1:2:1", T0 + offset, data=label),
        logs(("R1:1:1", f"log of {label}", T0 + offset)),
        AssetRecorded(asset=asset, run_id="R1", at=T0 + offset),
        AssetRestored(asset_id="asset-1", execution_id="R1:1:1", run_id="R1", at=T0 + offset),
    ]


def reads(store: ProjectStore) -> tuple[object, ...]:
    """Everything a project's store shows."""
    return (
        store.info(),
        store.list_environments(),
        store.list_manifests(ENV),
        store.list_runs(),
        store.get_run("R1"),
        store.get_run_outline("R1"),
        store.get_run_summary("R1"),
        store.get_step_record("R1:2"),
        store.list_logs("R1"),
        store.load_snapshot(),
        store.get_outcome("R1:2:1"),
        store.get_step_outcome("R1:2:1"),
        store.find_cached("k", [ENV], 0.0),
        store.find_memoised("R1", "k"),
        store.find_run_by_idempotency_key("order-1"),
        store.run_of_execution("R1:2:1"),
        store.get_asset("asset-1"),
        store.list_run_assets("R1"),
    )


def test_two_projects_with_the_same_ids_never_see_each_other(backend: Backend) -> None:
    one = backend.create("p1", "one")
    alone = reads(one)
    one.append(project_facts("one", 0))
    expected_one = reads(one)

    two = backend.create("p2", "two")
    # The second project's store is empty, though the first holds the same ids.
    assert reads(two)[1:] == alone[1:]
    two.append(project_facts("two", 100))  # same ids: no conflict with project one
    assert reads(one) == expected_one  # project one is untouched

    assert (two.info().id, two.info().name) == ("p2", "two")
    assert [e.name for e in two.list_environments()] == ["env-two"]
    assert [t.name for m in two.list_manifests(ENV) for t in m.targets] == ["main_two"]
    assert [(r.target, r.created_at) for r in two.list_runs()] == [("main_two", T0 + 100)]
    run = two.get_run("R1")
    assert run is not None and run.steps[1].executions[0].outcome == protocol.Succeeded(
        value=value("two")
    )
    assert [e.template for e in two.list_logs("R1")] == ["log of two"]
    asset = two.get_asset("asset-1")
    assert asset is not None and asset.metadata == {"label": "two"}
    assert [r.at for r in two.list_run_assets("R1").restores] == [T0 + 100]
    assert two.load_snapshot().session_secrets == {"s1": "t" * 64}
    assert one.load_snapshot().session_secrets == {"s1": "o" * 64}
    hit = two.find_cached("k", [ENV], 0.0)
    assert hit == ("R1:2:1", protocol.Succeeded(value=value("two")))

    # Each project's snapshot holds only its own unfinished work.
    assert [e.execution_id for e in one.load_snapshot().executions] == ["R1:1:1"]
    two.append(busy_run()[:4])  # R2, queued
    assert [e.execution_id for e in one.load_snapshot().executions] == ["R1:1:1"]
    assert [r.run_id for r in two.load_snapshot().runs] == ["R2", "R1"]  # by creation time
    assert reads(one) == expected_one

    # Reopened, each still holds exactly its own.
    assert reads(backend.reopen(one)) == expected_one


def test_a_fact_cannot_name_another_projects_rows(backend: Backend) -> None:
    one = backend.create("p1", "one")
    one.append([environment(), *start_run("R1", T0)])
    two = backend.create("p2", "two")
    two.append([environment(), *start_run("R2", T0)])
    # Each batch names one row that exists, but in project one only: R1:1:1.
    refused: list[list[Fact]] = [
        [ExecutionTransitioned("R1:1:1", "R2", ExecutionState.ASSIGNED, "s1", T0 + 1)],
        step("R2", 2, T0 + 1, parent="R1:1:1", call_index=0),
        [msgspec.structs.replace(logs(("R2:1:1", "hello", T0 + 1)), run_ids=("R1",))],
        [ExecutionCreated("R2:1:2", "R1:1", "R2", 2, ENV, T0 + 1, T0 + 1)],
    ]
    for batch in refused:
        with pytest.raises(backend.integrity_error):
            two.append(batch)
    run = two.get_run("R2")
    assert run is not None and [s.id for s in run.steps] == ["R2:1"]
    assert run.steps[0].executions[0].transitions == [TransitionView(state="queued", at=T0)]
    assert two.list_logs("R2") == two.list_logs("R1") == []
    run = one.get_run("R1")
    assert run is not None and [len(s.executions) for s in run.steps] == [1]
    assert run.steps[0].executions[0].state == "queued"


def test_a_name_is_taken_once_by_concurrent_creates(backend: Backend) -> None:
    catalog = backend.catalog()
    contenders = 8
    start = threading.Barrier(contenders)

    def create(index: int) -> str:
        start.wait(timeout=30)
        try:
            store = catalog.create(f"id{index}", "demo", T0)
        except Conflict as e:
            assert e.reason == "project_exists"
            return "refused"
        store.close()
        return f"id{index}"

    with ThreadPoolExecutor(max_workers=contenders) as pool:
        results = list(pool.map(create, range(contenders)))
    winners = [result for result in results if result != "refused"]
    assert len(winners) == 1
    # Nothing is left of the refused ones: only the winner is listed, and opens.
    assert catalog.project_ids() == winners
    store = catalog.open(winners[0])
    assert (store.info().id, store.info().name) == (winners[0], "demo")
    store.close()
    # Another name is still free.
    other = catalog.create("other", "demo-2", T0)
    assert sorted(catalog.project_ids()) == sorted([*winners, "other"])
    other.close()
