"""Contract: a history reads the same however it was cut into batches, on every backend.

A store may write a batch table by table rather than fact by fact (the
PostgreSQL store does: see ``store/postgres/writes.py``). That is only right if
it makes no difference to any read, wherever the batches begin and end: an
execution created and finished in one batch or in two, a stand-in linked in the
batch that creates it or later, a manifest registered twice in one batch or
across two. Here one history, rich in such cases, is appended to every backend
cut at different places, and everything each backend shows must be the same as
what SQLite shows with one fact per batch.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from coflux import protocol
from coflux.orchestration.effects import (
    AssetRecorded,
    AssetRestored,
    CheckpointRecorded,
    ExecutionLinked,
    Fact,
    StepCreated,
)
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store.base import ProjectStore
from tests.store.backends import BACKENDS, Backend
from tests.store.facts import (
    ENV,
    T0,
    attempt,
    busy_run,
    environment,
    fail,
    finished_run,
    logs,
    outcome,
    register,
    session,
    start_run,
    step,
    succeed,
    transition,
)

Q = ExecutionState
DEV = "env-dev"
KEY = "cd" * 32


def keyed(facts: list[Fact], key: str) -> list[Fact]:
    return [
        msgspec.structs.replace(f, cache_key=key, memo_key=key) if isinstance(f, StepCreated) else f
        for f in facts
    ]


def asset(asset_id: str, execution_id: str, *paths: str) -> protocol.AssetInfo:
    entries = tuple(protocol.AssetEntry(path, 1, KEY) for path in paths)
    return protocol.AssetInfo(
        asset_id, execution_id, "directory", ".", len(paths), len(paths), {"n": 1}, entries
    )


def history() -> list[Fact]:
    """Facts in an order the engine could record them, with every kind of fact."""
    done = protocol.Succeeded(value=protocol.Value(format="json", data="shared"))
    return [
        *finished_run(),
        environment(DEV, "dev", T0 + 1, base_id=ENV),
        msgspec.structs.replace(session("s2", DEV), secret_sha256="b" * 64),
        register("flows", "main", "other"),
        register("flows", "main", "other", at=T0 + 1),  # the same again: no new row
        register("tools", "clean", env_id=DEV),
        *busy_run(),
        # A cached stand-in and a spawned one, linked to leaders, finished later.
        *keyed(step("R2", 5, T0 + 16, parent="R2:1:1", call_index=3), "k"),
        transition("R2:5:1", Q.CACHED, T0 + 16),
        ExecutionLinked("R2:5:1", "R2", "R2:4:1", T0 + 16),
        *start_run("R3", T0 + 17, key="idem", env_id=DEV),
        *step("R2", 6, T0 + 17, parent="R2:1:1", call_index=4),
        transition("R2:6:1", Q.SPAWNED, T0 + 17),
        ExecutionLinked("R2:6:1", "R2", "R3:1:1", T0 + 17),
        # A deferred stand-in whose leader never finishes: still linked at the end.
        *step("R2", 7, T0 + 17, parent="R2:1:1", call_index=5),
        transition("R2:7:1", Q.DEFERRED, T0 + 17),
        ExecutionLinked("R2:7:1", "R2", "R2:2:1", T0 + 17),
        CheckpointRecorded("R2:4:1", "R2", (protocol.Value("json", 1),), T0 + 18),
        CheckpointRecorded("R2:4:1", "R2", (protocol.Value("json", 2),), T0 + 19),
        logs(("R2:4:1", "one", T0 + 18), ("R2:1:1", "two", T0 + 18)),
        AssetRecorded(asset("A1", "R2:4:1", "b.txt", "a.txt"), "R2", T0 + 19),
        AssetRecorded(asset("A1", "R2:4:1", "c.txt", "a.txt"), "R2", T0 + 20),  # resent
        AssetRestored("A1", "R2:1:1", "R2", T0 + 21),
        *succeed("R2:4:1", T0 + 22, data="shared", session_id="s2"),
        outcome("R2:5:1", done, T0 + 23),
        transition("R3:1:1", Q.ASSIGNED, T0 + 24, "s2"),
        *fail("R3:1:1", T0 + 25),
        *attempt("R3:1", 2, T0 + 27, env_id=DEV),
        ExecutionLinked("R2:6:1", "R2", "R3:1:2", T0 + 27),  # the retry carries on
        *succeed("R3:1:2", T0 + 28),
        outcome("R2:6:1", done, T0 + 29),
        environment(ENV, "prod", T0 + 30),
        environment(DEV, "dev", T0 + 31, status=EnvironmentStatus.PAUSED),
        register("flows", at=T0 + 32),  # emptied
        register("flows", "main", at=T0 + 33),
        logs(("R3:1:2", "three", T0 + 33)),
    ]


def cuts(facts: list[Fact], seed: int) -> Iterator[list[Fact]]:
    """``facts`` in consecutive batches of random sizes (1 to 12)."""
    rng = random.Random(seed)
    index = 0
    while index < len(facts):
        size = rng.randint(1, 12)
        yield facts[index : index + size]
        index += size


def shown(store: ProjectStore) -> tuple[object, ...]:
    """Everything the store shows about the history (log ids apart)."""
    runs = ("R1", "R2", "R3")
    executions = ("R1:2:1", "R2:4:1", "R2:5:1", "R2:6:1", "R3:1:1", "R3:1:2")
    return (
        store.list_environments(),
        store.list_manifests(ENV),
        store.list_manifests(DEV),
        store.list_runs(),
        store.load_snapshot(),
        [store.get_run(run) for run in runs],
        [store.get_run_outline(run) for run in runs],
        [[(e.execution_id, e.template) for e in store.list_logs(run)] for run in runs],
        [store.get_step_outcome(e) for e in executions],
        [store.get_outcome(e) for e in executions],
        store.get_step_record("R2:5"),
        store.find_cached("k", [ENV, DEV], 0.0),
        store.find_memoised("R2", "k"),
        store.find_run_by_idempotency_key("idem"),
        store.get_asset("A1"),
        store.list_run_assets("R2"),
    )


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[tuple[object, ...]]:
    """What SQLite shows after one fact per batch."""
    backend = BACKENDS["sqlite"](tmp_path / "reference")
    store = backend.create()
    for fact in history():
        store.append([fact])
    yield shown(store)
    backend.close_all()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_any_cut_into_batches_reads_the_same(
    backend: Backend, reference: tuple[object, ...], seed: int
) -> None:
    store = backend.create()
    for batch in cuts(history(), seed):
        store.append(batch)
    assert shown(store) == reference
    assert shown(backend.reopen(store)) == reference


def test_the_whole_history_in_one_batch_reads_the_same(
    backend: Backend, reference: tuple[object, ...]
) -> None:
    store = backend.create()
    store.append(history())
    assert shown(store) == reference
