"""The contract, continued: what a restart relies on.

The snapshot holds exactly the unfinished work; a reopened store holds everything;
a batch is written whole or not at all; readers never see half a batch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from coflux import protocol
from coflux.orchestration.effects import Fact
from coflux.orchestration.states import ExecutionState
from coflux.store.base import ActiveExecution, ActiveRun, ProjectStore
from tests.store.backends import Backend
from tests.store.facts import (
    ENV,
    T0,
    attempt,
    busy_run,
    environment,
    fail,
    finished_run,
    logs,
    register,
    session,
    start_run,
    step,
    succeed,
    transition,
    value,
)

Q = ExecutionState
DEV = "env-dev"

# --- snapshot -------------------------------------------------------------------


def test_snapshot_holds_only_unfinished_work(store: ProjectStore) -> None:
    store.append([*finished_run(), register("flows", "main"), *busy_run()])
    snapshot = store.load_snapshot()
    assert snapshot.environments == [environment()]
    assert snapshot.manifests == [(ENV, register("flows", "main").manifest)]
    assert snapshot.runs == [
        ActiveRun(run_id="R2", environment_id=ENV, root_execution_id="R2:1:1", step_count=4)
    ]
    assert [(e.execution_id, e.state, e.session_id) for e in snapshot.executions] == [
        ("R2:1:1", Q.ASSIGNED, "s1"),
        ("R2:2:1", Q.QUEUED, None),
        ("R2:4:1", Q.ASSIGNED, "s2"),
    ]
    assert snapshot.executions[2] == ActiveExecution(
        execution_id="R2:4:1",
        step_id="R2:4",
        run_id="R2",
        step_number=4,
        attempt=1,
        environment_id=ENV,
        state=Q.ASSIGNED,
        session_id="s2",
        created_at=T0 + 14,
        due_at=T0 + 14.5,
        repository="flows",
        target="task",
        type="task",
        arguments=(value("x"),),
        options=protocol.TargetOptions(retries=protocol.RetryOptions(limit=2), delay=1.5),
        parent_execution_id="R2:1:1",
        call_index=2,
    )
    assert snapshot.calls == [
        ("R2:1:1", 0, "R2:2:1"),
        ("R2:1:1", 1, "R2:3:1"),
        ("R2:1:1", 2, "R2:4:1"),
    ]


def test_snapshot_drops_what_ends(store: ProjectStore) -> None:
    store.append([environment(), *busy_run()])
    # A child that ends leaves the snapshot; its parent's calls stay.
    store.append([transition("R2:2:1", Q.CANCELLED, T0 + 20)])
    snapshot = store.load_snapshot()
    assert [e.execution_id for e in snapshot.executions] == ["R2:1:1", "R2:4:1"]
    assert len(snapshot.calls) == 3
    # A retry is the latest execution of its step, so the call points at it.
    store.append([*fail("R2:4:1", T0 + 21), *attempt("R2:4", 2, T0 + 23)])
    snapshot = store.load_snapshot()
    assert [e.execution_id for e in snapshot.executions] == ["R2:1:1", "R2:4:2"]
    assert snapshot.calls[2] == ("R2:1:1", 2, "R2:4:2")
    # Once everything ends, nothing is left.
    store.append([transition("R2:4:2", Q.CANCELLED, T0 + 24), *succeed("R2:1:1", T0 + 25)[1:]])
    snapshot = store.load_snapshot()
    assert (snapshot.runs, snapshot.executions, snapshot.calls) == ([], [], [])
    assert snapshot.environments == [environment()]


def test_snapshot_run_with_only_a_child_unfinished(store: ProjectStore) -> None:
    """A root re-run is not needed for a run to be active: any execution will do."""
    store.append([environment(), *start_run("R1", T0), *fail("R1:1:1", T0 + 1)])
    store.append([*step("R1", 2, T0 + 5)])  # e.g. a step re-run after the root ended
    snapshot = store.load_snapshot()
    assert snapshot.runs == [
        ActiveRun(run_id="R1", environment_id=ENV, root_execution_id="R1:1:1", step_count=2)
    ]
    assert [e.execution_id for e in snapshot.executions] == ["R1:2:1"]
    assert snapshot.calls == []


# --- durability and atomicity --------------------------------------------------------


def _everything(store: ProjectStore) -> tuple[object, ...]:
    return (
        store.info(),
        store.list_environments(),
        store.list_manifests(ENV),
        store.list_runs(),
        store.get_run("R1"),
        store.get_run("R2"),
        store.list_logs("R1"),
        store.load_snapshot(),
        store.find_run_by_idempotency_key("k"),
        store.get_outcome("R1:2:2"),
    )


def test_reopening_keeps_everything(backend: Backend, store: ProjectStore) -> None:
    store.append([*finished_run(), register("flows", "main"), *busy_run()])
    store.append([*start_run("R3", T0 + 30, key="k"), logs(("R1:1:1", "hello", T0 + 9))])
    before = _everything(store)
    reopened = backend.reopen(store)
    assert _everything(reopened) == before
    # And it still takes facts.
    reopened.append(succeed("R3:1:1", T0 + 31))
    assert reopened.list_runs()[0].state == "succeeded"


def _batch_of(count: int) -> list[Fact]:
    """About ``count`` facts: one run with many steps, transitions and logs."""
    facts: list[Fact] = [environment(), session("s1"), *start_run("R1", T0)]
    number = 2
    while len(facts) < count:
        execution_id = f"R1:{number}:1"
        facts += step("R1", number, T0, parent="R1:1:1", call_index=number - 2)
        facts += succeed(execution_id, T0 + 1, data=number)
        facts.append(logs((execution_id, "step {n}", T0 + 1)))
        number += 1
    return facts


def test_append_is_one_transaction(backend: Backend, store: ProjectStore) -> None:
    facts = _batch_of(10_000)
    assert len(facts) >= 10_000
    # The last fact repeats a step id: the whole batch must be refused.
    duplicate = step("R1", 2, T0 + 2, parent="R1:1:1", call_index=10_000)[0]
    with pytest.raises(backend.integrity_error):
        store.append([*facts, duplicate])
    assert store.list_environments() == []
    assert store.get_run("R1") is None
    assert store.list_runs() == []
    assert store.list_logs("R1") == []
    assert store.load_snapshot().executions == []

    # The store is still usable, and the valid batch goes in whole.
    store.append(facts)
    run = store.get_run("R1")
    assert run is not None
    assert len(run.steps) == len(facts) // 7 + 1
    assert len(store.list_logs("R1", limit=100_000)) == len(run.steps) - 1


def test_readers_see_whole_batches(store: ProjectStore) -> None:
    """Reads from other threads run while `append` writes, and never see half a batch."""
    store.append([environment(), *start_run("R1", T0)])
    batches = [
        [*step("R1", n, T0 + n, parent="R1:1:1", call_index=n), *succeed(f"R1:{n}:1", T0 + n)]
        for n in range(2, 60)
    ]

    def read_until_done() -> int:
        reads = 0
        while True:
            run = store.get_run("R1")
            assert run is not None
            for child in run.steps[1:]:
                (execution,) = child.executions
                # Created, assigned and succeeded in one batch: all or nothing.
                assert execution.state == "succeeded"
                assert execution.outcome is not None
            reads += 1
            if len(run.steps) == 59:
                return reads

    with ThreadPoolExecutor(max_workers=3) as pool:
        readers = [pool.submit(read_until_done) for _ in range(3)]
        for batch in batches:
            store.append(batch)
        assert all(reader.result(timeout=30) >= 1 for reader in readers)


def test_snapshot_keeps_the_resume_secrets_of_sessions_holding_work(
    backend: Backend, store: ProjectStore
) -> None:
    import msgspec

    with_secret = msgspec.structs.replace(session("s1"), secret_sha256="a" * 64)
    idle = msgspec.structs.replace(session("s3"), secret_sha256="c" * 64)
    store.append([environment(), with_secret, session("s2"), idle, *busy_run()])
    # s1 and s2 hold executions (s2 from before secrets were kept); s3 holds none.
    assert store.load_snapshot().session_secrets == {"s1": "a" * 64}
    reopened = backend.reopen(store)
    assert reopened.load_snapshot().session_secrets == {"s1": "a" * 64}
