"""Contract: what goes in comes out exactly, in the order it went in.

Values read back byte for byte (their JSON text, key order, numbers, escapes,
NUL included), times bit for bit, text ordered by code point whatever the
database's collation; log cursors only grow, in append order, while other
projects write at the same time; a batch naming a row that does not exist is
refused whole.
"""

from __future__ import annotations

import math
import struct
import threading
from typing import Any

import msgspec
import pytest

from coflux import protocol
from coflux.orchestration.effects import (
    AssetRecorded,
    CheckpointRecorded,
    ExecutionCreated,
    Fact,
    LogsRecorded,
    StepCreated,
)
from coflux.orchestration.states import ExecutionState
from coflux.store.base import ProjectStore
from tests.store.backends import Backend
from tests.store.facts import (
    ENV,
    T0,
    attempt,
    environment,
    logs,
    manifest,
    outcome,
    register,
    start_run,
    step,
    transition,
    value,
)

# Floats that a decimal rendering with fewer than 17 digits, or a microsecond
# clock, would change; and -0.0, which equals 0.0 but is not the same value.
FLOATS = [1e-7, 1234567890.123456789, -0.0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, 2.5]
# Times a store keeps: they must read back with all their bits (times are never
# negative, and SQLite's REAL keeps -0.0 as 0, so -0.0 is only checked in values).
TIMES = [1234567890.123456789, T0 + 0.1 + 0.2, 1e-7, 1700000000.0000002, T0 + 1 / 3]
TEXT = 'é ∑ 😀 "quoted" \\ back\nnew\tline \x00 nul \u2028 end'
DATA: dict[str, Any] = {
    "z": FLOATS,  # keys in insertion order, not sorted
    "a": {"text": TEXT, "big": 2**63 - 1, "small": -(2**63), "none": None, "yes": True},
    "": [[], {}, ""],
}


def keyed(facts: list[Fact], key: str) -> list[Fact]:
    return [
        msgspec.structs.replace(f, cache_key=key) if isinstance(f, StepCreated) else f
        for f in facts
    ]


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def same_json(read: object, written: object) -> bool:
    return msgspec.json.encode(read) == msgspec.json.encode(written)


def test_values_read_back_byte_for_byte(store: ProjectStore) -> None:
    data = value(DATA)
    result = protocol.Succeeded(value=data)
    error = protocol.Failed(error=protocol.ErrorInfo(type="E\x00", message=TEXT, traceback=TEXT))
    asset = protocol.AssetInfo(
        id="a1", execution_id="R1:1:1", kind="file", path="out.txt", size=1, file_count=1,
        metadata={"z": DATA, "a": 1}, entries=(protocol.AssetEntry("out.txt", 1, "ab" * 32),),
    )  # fmt: skip
    store.append([
        environment(),
        register("flows", "main"),
        *start_run("R1", T0, arguments=(data, value(TEXT))),
        *step("R1", 2, T0, parent="R1:1:1", call_index=0, arguments=(data,)),
        CheckpointRecorded("R1:1:1", "R1", (data,), T0),
        outcome("R1:2:1", result, T0 + 1),
        logs(("R1:1:1", TEXT, T0 + 1)),
        msgspec.structs.replace(logs(("R1:1:1", "{n}", T0 + 1)), entries=(
            protocol.LogEntry("R1:1:1", T0 + 1, "info", "values", {"n": data, "m": value(TEXT)}),
        )),
        AssetRecorded(asset=asset, run_id="R1", at=T0 + 1),
        *attempt("R1:2", 2, T0 + 2),
        outcome("R1:2:2", error, T0 + 3),
    ])  # fmt: skip
    run = store.get_run("R1")
    assert run is not None
    assert same_json(run.steps[0].arguments, [data, value(TEXT)])
    assert same_json(run.steps[1].arguments, [data])
    assert same_json(run.steps[1].executions[0].outcome, result)
    assert same_json(store.get_outcome("R1:2:1"), result)
    assert same_json(store.get_outcome("R1:2:2"), error)
    (active,) = [e for e in store.load_snapshot().executions if e.execution_id == "R1:1:1"]
    assert same_json(active.arguments, (data, value(TEXT)))
    assert same_json(active.checkpoint, (data,))
    first, second = store.list_logs("R1")
    assert first.template == TEXT
    assert same_json(second.values, {"n": data, "m": value(TEXT)})
    assert same_json(store.get_asset("a1"), asset)
    assert same_json(store.list_manifests(ENV), [manifest("flows", "main")])
    # Negative zero keeps its sign inside values.
    (zero,) = [x for x in run.steps[1].arguments[0].data["z"] if x == 0]
    assert bits(zero) == bits(-0.0)


def test_times_read_back_bit_for_bit(store: ProjectStore) -> None:
    facts: list[Fact] = [environment(at=TIMES[0])]
    for index, at in enumerate(TIMES):
        run_id = f"R{index}"
        facts += start_run(run_id, at)
        facts.append(transition(f"{run_id}:1:1", ExecutionState.ASSIGNED, at, "s1"))
        facts.append(transition(f"{run_id}:1:1", ExecutionState.SUCCEEDED, at))
        facts.append(outcome(f"{run_id}:1:1", protocol.Succeeded(value=value(None)), at))
        facts.append(logs((f"{run_id}:1:1", "at", at)))
    store.append(facts)
    for index, at in enumerate(TIMES):
        run = store.get_run(f"R{index}")
        assert run is not None
        (execution,) = run.steps[0].executions
        read = [run.created_at, run.completed_at, run.steps[0].created_at, execution.created_at,
                execution.assigned_at, execution.completed_at,
                *(t.at for t in execution.transitions),
                *(e.timestamp for e in store.list_logs(f"R{index}"))]  # fmt: skip
        assert [bits(t) for t in read if t is not None] == [bits(at)] * 10
        summary = store.get_run_summary(f"R{index}")
        assert summary is not None and bits(summary.completed_at or 0) == bits(at)
    assert bits(store.list_environments()[0].created_at) == bits(TIMES[0])
    # `since` compares exactly: the time itself finds the hit, the next float up not.
    at = TIMES[1]
    store.append([
        *keyed(step("R1", 2, at, parent="R1:1:1", call_index=0), "k"),
        transition("R1:2:1", ExecutionState.SUCCEEDED, at),
        outcome("R1:2:1", protocol.Succeeded(value=value(1)), at),
    ])  # fmt: skip
    assert store.find_cached("k", [ENV], at) is not None
    assert store.find_cached("k", [ENV], math.nextafter(at, math.inf)) is None


def test_an_unfinished_executions_due_time_survives_exactly(backend: Backend) -> None:
    store = backend.create()
    due, created = T0 + 1 / 3, T0 + 3e-7
    store.append([
        environment(), *start_run("R1", T0),
        *step("R1", 2, T0)[:1],
        ExecutionCreated("R1:2:1", "R1:2", "R1", 1, ENV, due, created),
    ])  # fmt: skip
    (_, waiting) = store.load_snapshot().executions
    assert (bits(waiting.due_at), bits(waiting.created_at)) == (bits(due), bits(created))
    (_, waiting) = backend.reopen(store).load_snapshot().executions
    assert (bits(waiting.due_at), bits(waiting.created_at)) == (bits(due), bits(created))


def test_text_is_ordered_by_code_point(store: ProjectStore) -> None:
    """Repositories and asset paths sort as Python sorts strings, not by a locale."""
    names = ["b", "B", "a_c", "ab", "a-z", "Z", "é", "e", "10", "9"]
    store.append([environment(), *[register(name, "main") for name in names]])
    assert [m.repository for m in store.list_manifests(ENV)] == sorted(names)
    asset = protocol.AssetInfo(
        id="a1", execution_id="R1:1:1", kind="directory", path=".", size=0,
        file_count=len(names), metadata={},
        entries=tuple(protocol.AssetEntry(name, 0, "ab" * 32) for name in names),
    )  # fmt: skip
    store.append([*start_run("R1", T0), AssetRecorded(asset=asset, run_id="R1", at=T0)])
    found = store.get_asset("a1")
    assert found is not None and [e.path for e in found.entries] == sorted(names)


# --- log cursors --------------------------------------------------------------------


def log_batch(run_id: str, first: int, count: int) -> LogsRecorded:
    return logs(*[(f"{run_id}:1:1", f"line {n}", T0 + n) for n in range(first, first + count)])


def test_log_cursors_grow_in_append_order(backend: Backend) -> None:
    one, two = backend.create("p1", "one"), backend.create("p2", "two")
    for store in (one, two):
        store.append([environment(), *start_run("R1", T0), *start_run("R2", T0)])
    written: list[str] = []
    for batch in range(6):
        # The same runs in the other project log in between.
        two.append([log_batch("R1", 100 * batch, 3)])
        one.append([log_batch("R1", 10 * batch, 2), log_batch("R2", 10 * batch, 1),
                    log_batch("R1", 10 * batch + 5, 1)])  # fmt: skip
        written += [f"line {10 * batch}", f"line {10 * batch + 1}", f"line {10 * batch + 5}"]
    entries = one.list_logs("R1", limit=10_000)
    assert [e.template for e in entries] == written
    ids = [e.id for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] > 0
    # Paging one entry at a time from cursor 0 meets every entry once, in order.
    paged, cursor = [], 0
    while page := one.list_logs("R1", after=cursor, limit=1):
        paged += page
        cursor = page[-1].id
    assert paged == entries
    assert [e.template for e in one.list_logs("R1", execution_id="R1:1:1", after=ids[2])] == (
        written[3:]
    )
    assert [e.template for e in two.list_logs("R1", limit=10_000)] == [
        f"line {100 * b + n}" for b in range(6) for n in range(3)
    ]


def test_a_reader_following_the_cursor_misses_nothing_while_projects_write(
    backend: Backend,
) -> None:
    one, two = backend.create("p1", "one"), backend.create("p2", "two")
    for store in (one, two):
        store.append([environment(), *start_run("R1", T0)])
    batches, size = 40, 5
    writing = [threading.Thread(target=write, args=(s, batches, size)) for s in (one, two)]
    seen: list[str] = []

    def follow() -> None:
        cursor = 0
        while True:
            finished = not any(thread.is_alive() for thread in writing)
            page = one.list_logs("R1", after=cursor, limit=7)
            seen.extend(entry.template for entry in page)
            cursor = page[-1].id if page else cursor
            if finished and not page:
                return  # a read after the writers ended found nothing new

    following = threading.Thread(target=follow)
    for thread in [*writing, following]:
        thread.start()
    for thread in [*writing, following]:
        thread.join()
    assert seen == [f"line {n}" for n in range(batches * size)]


def write(store: ProjectStore, batches: int, size: int) -> None:
    for batch in range(batches):
        store.append([log_batch("R1", batch * size, size)])


# --- references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "batch",
    [
        [transition("R1:1:9", ExecutionState.ASSIGNED, T0, "s1")],  # no such execution
        [msgspec.structs.replace(logs(("R1:1:1", "x", T0)), run_ids=("R8",))],  # no run R8
        step("R1", 2, T0, parent="R1:7:1", call_index=0),  # no parent execution
        step("R1", 2, T0, env_id="env-none"),  # an execution in no environment
        [ExecutionCreated("R1:5:1", "R1:5", "R1", 1, ENV, T0, T0)],  # no step R1:5
        start_run("R9", T0, env_id="env-none"),  # a run in no environment
        [environment("env-dev", "dev", base_id="env-none")],  # a base that is not there
    ],
    ids=["execution", "run", "parent", "environment", "step", "run-env", "base"],
)
def test_a_batch_naming_what_does_not_exist_is_refused_whole(
    backend: Backend, store: ProjectStore, batch: list[Fact]
) -> None:
    store.append([environment(), *start_run("R1", T0)])
    before = (store.get_run("R1"), store.list_runs(), store.list_environments())
    with pytest.raises(backend.integrity_error):
        store.append([*start_run("R0", T0 + 1), *batch])
    assert (store.get_run("R1"), store.list_runs(), store.list_environments()) == before
    assert store.get_run("R0") is None
    assert store.list_logs("R1") == []
