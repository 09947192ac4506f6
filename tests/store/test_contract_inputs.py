"""Inputs in the store contract: an input read back as asked, its settlement, the
lists by environment, run and status (newest first), kept across a reopen, and
in the snapshot while its run is unfinished."""

from __future__ import annotations

from typing import Any

import pytest

from coflux import protocol
from coflux.orchestration.effects import (
    EnvironmentRecorded,
    Fact,
    InputDismissed,
    InputRequested,
    InputResponded,
)
from coflux.orchestration.states import ExecutionState
from coflux.store.base import ActiveInput, InputQuery, ProjectStore
from tests.store.backends import Backend
from tests.store.facts import T0, environment, start_run, step, succeed, transition, value

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}


def asked(
    input_id: str,
    execution_id: str,
    at: float,
    *,
    key: str = "k",
    schema: dict[str, Any] | None = SCHEMA,
    environment_name: str = "production",
) -> InputRequested:
    run_id = execution_id.split(":")[0]
    info = protocol.InputInfo(
        id=input_id,
        execution_id=execution_id,
        run_id=run_id,
        environment=environment_name,
        key=key,
        template="Name for {thing}?\x00",  # NUL is data, kept as is
        created_at=at,
        title="Naming",
        placeholders={"thing": value("dog")},
        schema=schema,
        initial={"name": "Rex"},
        actions=("Name it", "Skip"),
        requires={"role": ("owner",)},
    )
    return InputRequested(info, run_id, at)


def runs_with_inputs() -> list[Fact]:
    return [
        environment(),
        EnvironmentRecorded("env-dev", "dev", "env-prod", environment().status, T0),
        *start_run("R1", T0),
        transition("R1:1:1", ExecutionState.ASSIGNED, T0, "s1"),
        *start_run("R2", T0, env_id="env-dev"),
        transition("R2:1:1", ExecutionState.ASSIGNED, T0, "s1"),
        asked("R1.a", "R1:1:1", T0 + 1, key="a"),
        asked("R2.b", "R2:1:1", T0 + 2, key="b", schema=None, environment_name="dev"),
        asked("R1.c", "R1:1:1", T0 + 3, key="c"),
    ]


def test_an_input_reads_back_as_asked_and_pending(store: ProjectStore) -> None:
    store.append(runs_with_inputs())
    found = store.get_input("R1.a")
    assert found is not None
    info = asked("R1.a", "R1:1:1", T0 + 1, key="a").input
    assert (found.id, found.execution_id, found.run_id, found.environment, found.key) == (
        "R1.a", "R1:1:1", "R1", "production", "a",
    )  # fmt: skip
    assert (found.title, found.template, found.placeholders, found.schema) == (
        info.title, info.template, info.placeholders, info.schema,
    )  # fmt: skip
    assert (found.initial, found.actions, found.requires, found.created_at) == (
        {"name": "Rex"}, ("Name it", "Skip"), {"role": ("owner",)}, T0 + 1,
    )  # fmt: skip
    assert (found.status, found.responded_at, found.responded_by, found.response) == (
        "pending", None, None, None,
    )  # fmt: skip
    assert store.get_input("R1.nope") is None


def test_settled_inputs_read_back_with_who_and_when(store: ProjectStore) -> None:
    store.append(runs_with_inputs())
    store.append(
        [
            InputResponded("R1.a", "R1", {"name": "Fido", "deep": [1, None]}, "token:t1", T0 + 5),
            InputDismissed("R2.b", "R2", "admin", T0 + 6),
        ]
    )
    responded = store.get_input("R1.a")
    dismissed = store.get_input("R2.b")
    assert responded is not None and dismissed is not None
    assert (responded.status, responded.response, responded.responded_by) == (
        "responded", {"name": "Fido", "deep": [1, None]}, "token:t1",
    )  # fmt: skip
    assert responded.responded_at == T0 + 5
    assert (dismissed.status, dismissed.response, dismissed.responded_by) == (
        "dismissed", None, "admin",
    )  # fmt: skip


def test_an_approval_answered_with_null_is_responded(store: ProjectStore) -> None:
    store.append(runs_with_inputs())
    store.append([InputResponded("R2.b", "R2", None, "anonymous", T0 + 5)])
    found = store.get_input("R2.b")
    assert found is not None and (found.status, found.response) == ("responded", None)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (InputQuery(), ["R1.c", "R2.b"]),
        (InputQuery(statuses=None), ["R1.c", "R2.b", "R1.a"]),
        (InputQuery(statuses=("responded",)), ["R1.a"]),
        (InputQuery(statuses=("responded", "pending")), ["R1.c", "R2.b", "R1.a"]),
        (InputQuery(statuses=()), []),
        (InputQuery(environment_id="env-dev"), ["R2.b"]),
        (InputQuery(environment_id="env-prod", statuses=None), ["R1.c", "R1.a"]),
        (InputQuery(run_id="R1"), ["R1.c"]),
        (InputQuery(run_id="R2", environment_id="env-prod"), []),
        (InputQuery(statuses=None, limit=2), ["R1.c", "R2.b"]),
    ],
)
def test_inputs_are_listed_newest_first_by_environment_run_and_status(
    store: ProjectStore, query: InputQuery, expected: list[str]
) -> None:
    store.append(runs_with_inputs())
    store.append([InputResponded("R1.a", "R1", {"name": "x"}, "admin", T0 + 5)])
    assert [found.id for found in store.list_inputs(query)] == expected


def test_the_snapshot_holds_the_inputs_of_unfinished_runs(store: ProjectStore) -> None:
    store.append(runs_with_inputs())
    store.append(
        [
            *step("R1", 2, T0, parent="R1:1:1", call_index=0),
            InputResponded("R1.a", "R1", {"name": "x"}, "admin", T0 + 5),
            InputDismissed("R2.b", "R2", "admin", T0 + 6),
        ]
    )
    assert store.load_snapshot().inputs == [
        ActiveInput(
            input_id="R1.a", run_id="R1", execution_id="R1:1:1", key="a", schema=SCHEMA,
            response=protocol.InputResponded({"name": "x"}),
        ),
        ActiveInput(
            input_id="R2.b", run_id="R2", execution_id="R2:1:1", key="b", schema=None,
            response=protocol.InputDismissed(),
        ),
        ActiveInput(
            input_id="R1.c", run_id="R1", execution_id="R1:1:1", key="c", schema=SCHEMA,
            response=None,
        ),
    ]  # fmt: skip
    # R2 finishes: its inputs leave the snapshot, and stay readable.
    store.append(succeed("R2:1:1", T0 + 7)[1:])
    assert [i.input_id for i in store.load_snapshot().inputs] == ["R1.a", "R1.c"]
    assert store.get_input("R2.b") is not None


def test_inputs_are_kept_across_a_reopen(backend: Backend) -> None:
    store = backend.create()
    store.append(runs_with_inputs())
    store.append([InputResponded("R1.a", "R1", [1, 2], "admin", T0 + 5)])
    before = (store.list_inputs(InputQuery(statuses=None)), store.load_snapshot().inputs)
    reopened = backend.reopen(store)
    assert (reopened.list_inputs(InputQuery(statuses=None)), reopened.load_snapshot().inputs) == (
        before
    )
