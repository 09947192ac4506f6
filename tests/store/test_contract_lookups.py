"""Contract: the look-ups that run semantics need (step outcomes, cache, memo)."""

from __future__ import annotations

import msgspec

from coflux import protocol
from coflux.orchestration.effects import Fact, StepCreated
from coflux.orchestration.states import ExecutionState
from coflux.store.base import ProjectStore
from tests.store.facts import (
    ENV,
    T0,
    attempt,
    environment,
    fail,
    finished_run,
    outcome,
    start_run,
    step,
    succeed,
    transition,
    value,
)

DEV = "env-dev"


def keyed(facts: list[Fact], *, cache: str | None = None, memo: str | None = None) -> list[Fact]:
    """The facts of a step, with keys on its StepCreated."""
    return [
        msgspec.structs.replace(f, cache_key=cache, memo_key=memo)
        if isinstance(f, StepCreated)
        else f
        for f in facts
    ]


def setup(store: ProjectStore) -> None:
    store.append([environment(), environment(DEV, "dev", base_id=ENV), *start_run("R1")])


def test_step_outcome_follows_the_latest_attempt(store: ProjectStore) -> None:
    setup(store)
    store.append([*step("R1", 2, T0), *fail("R1:2:1", T0 + 1)])
    assert isinstance(store.get_step_outcome("R1:2:1"), protocol.Failed)
    store.append([*attempt("R1:2", 2, T0 + 5)])
    assert store.get_step_outcome("R1:2:1") is None  # the retry has no outcome yet
    store.append([*succeed("R1:2:2", T0 + 6, 7)])
    expected = protocol.Succeeded(value=value(7))
    assert store.get_step_outcome("R1:2:1") == store.get_step_outcome("R1:2:2") == expected
    assert store.get_step_outcome("nope:1:1") is None


def test_cache_hits_are_successes_in_the_given_environments_since_a_time(
    store: ProjectStore,
) -> None:
    setup(store)
    store.append([*keyed(step("R1", 2, T0), cache="k"), *succeed("R1:2:1", T0 + 1, "old")])
    store.append([*keyed(step("R1", 3, T0 + 10), cache="k"), *fail("R1:3:1", T0 + 11)])
    store.append(
        [*keyed(step("R1", 4, T0 + 20, env_id=DEV), cache="k"), *succeed("R1:4:1", T0 + 21, "dev")]
    )
    hit = store.find_cached("k", [ENV], 0.0)
    assert hit == ("R1:2:1", protocol.Succeeded(value=value("old")))
    assert store.find_cached("k", [DEV, ENV], 0.0) == (
        "R1:4:1",
        protocol.Succeeded(value=value("dev")),
    )
    assert store.find_cached("k", [ENV], T0 + 5) is None  # too old
    assert store.find_cached("other", [ENV, DEV], 0.0) is None


def test_a_step_standing_in_for_a_cached_one_is_not_itself_a_hit(store: ProjectStore) -> None:
    setup(store)
    succeeded = protocol.Succeeded(value=value(1))
    store.append([
        *keyed(step("R1", 2, T0), cache="k"),
        transition("R1:2:1", ExecutionState.CACHED, T0),
        outcome("R1:2:1", succeeded, T0),
    ])  # fmt: skip
    assert store.find_cached("k", [ENV], 0.0) is None


def test_memo_hits_are_the_first_equal_step_of_the_run_unless_it_failed(
    store: ProjectStore,
) -> None:
    setup(store)
    store.append([*keyed(step("R1", 2, T0), memo="m"), *succeed("R1:2:1", T0 + 1)])
    store.append([*keyed(step("R1", 3, T0), memo="f"), *fail("R1:3:1", T0 + 1)])
    store.append([*keyed(step("R1", 4, T0), memo="p")])  # still queued
    assert store.find_memoised("R1", "m") == "R1:2:1"
    assert store.find_memoised("R1", "f") is None
    assert store.find_memoised("R1", "p") == "R1:4:1"
    assert store.find_memoised("R2", "m") is None


def test_a_step_record_holds_what_a_rerun_needs(store: ProjectStore) -> None:
    store.append(finished_run())
    record = store.get_step_record("R1:2")
    assert record is not None
    assert (record.run_id, record.run_environment_id, record.run_step_count) == ("R1", ENV, 2)
    assert (record.root_execution_id, record.number, record.parent_execution_id) == (
        "R1:1:1",
        2,
        "R1:1:1",
    )
    assert (record.latest_execution_id, record.latest_attempt) == ("R1:2:2", 2)
    assert (record.repository, record.target, record.type) == ("flows", "task", "task")
    assert record.arguments == (value(2),)
    assert record.options == protocol.TargetOptions(
        retries=protocol.RetryOptions(limit=2), delay=1.5
    )
    assert store.get_step_record("R1:3") is None
    assert store.get_step_record("nope") is None
