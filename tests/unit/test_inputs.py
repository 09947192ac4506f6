"""The core's inputs (``orchestration.inputs``): asking, memoising by key, answering
once (checked against the schema), dismissing, waiting, suspending until answered,
and carrying on after a restart from what the store recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coflux import protocol as P
from coflux.errors import BadRequest, Conflict, NotFound
from coflux.orchestration import events as ev
from coflux.orchestration import inputs
from coflux.orchestration.effects import (
    Effect,
    Fact,
    InputDismissed,
    InputRequested,
    InputResponded,
)
from coflux.orchestration.recovery import restore
from coflux.orchestration.states import ExecutionState as S
from tests.store.backends import SqliteBackend
from tests.unit.test_core import Harness, messages, states, value

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name"],
}


def ask(
    request_id: int = 1,
    *,
    key: str = "k1",
    execution_id: str = "r1:1:1",
    schema: dict[str, Any] | None = SCHEMA,
    suffix: str = "a",
) -> ev.RequestInput:
    request = P.SubmitInput(
        request_id=request_id, execution_id=execution_id, key=key,
        template="Name for {thing}?", title="Naming", placeholders={"thing": value("dog")},
        schema=schema, initial={"name": "Rex"}, actions=("Name", "Skip"),
        requires={"role": ("owner",)},
    )  # fmt: skip
    return ev.RequestInput("s1", request, f"r1.{suffix}")


def wait(request_id: int, input_id: str = "r1.a", execution_id: str = "r1:1:1") -> ev.AwaitInput:
    return ev.AwaitInput("s1", P.GetInput(request_id, input_id, execution_id))


def answer(value_: Any, input_id: str = "r1.a", by: str = "admin") -> ev.SettleInput:
    return ev.SettleInput(input_id, P.InputResponded(value_), by)


def dismiss(input_id: str = "r1.a", by: str = "token:t1") -> ev.SettleInput:
    return ev.SettleInput(input_id, P.InputDismissed(), by)


def replies(effects: list[Effect]) -> list[P.InputReply]:
    return messages(effects, P.InputReply)


def running() -> Harness:
    """r1's workflow runs in session s1 (assigned)."""
    h = Harness()
    h.setup()
    h.submit("r1")
    session, _ = h.connect()
    assert session == "s1"
    return h


def test_asking_records_the_input_and_replies_with_its_id() -> None:
    h = running()
    effects = h.apply(ask())
    [requested] = [e for e in effects if isinstance(e, InputRequested)]
    assert requested.run_id == "r1" and requested.at == h.now
    assert requested.input == P.InputInfo(
        id="r1.a", execution_id="r1:1:1", run_id="r1", environment="production", key="k1",
        template="Name for {thing}?", created_at=h.now, title="Naming",
        placeholders={"thing": value("dog")}, schema=SCHEMA, initial={"name": "Rex"},
        actions=("Name", "Skip"), requires={"role": ("owner",)},
    )  # fmt: skip
    assert replies(effects) == [P.InputReply(1, "r1.a")]


def test_asking_again_with_the_same_key_is_the_same_input_and_records_nothing() -> None:
    h = running()
    h.apply(ask())
    effects = h.apply(ask(2, suffix="b"))
    assert not [e for e in effects if isinstance(e, Fact)]
    assert replies(effects) == [P.InputReply(2, "r1.a")]
    # Another key is another input.
    other = h.apply(ask(3, key="k2", suffix="c"))
    assert replies(other) == [P.InputReply(3, "r1.c")]


def test_an_answer_reaches_the_waiting_execution_once() -> None:
    h = running()
    h.apply(ask())
    assert replies(h.apply(wait(7))) == []  # pending: it waits
    effects = h.apply(answer({"name": "Fido", "age": 3}))
    assert [e for e in effects if isinstance(e, InputResponded)] == [
        InputResponded("r1.a", "r1", {"name": "Fido", "age": 3}, "admin", h.now)
    ]
    response = P.InputResponded({"name": "Fido", "age": 3})
    assert replies(effects) == [P.InputReply(7, "r1.a", response)]
    # Delivered once: nothing more for that request; a new request is answered at once.
    h.now += 1
    assert replies(h.apply(ev.Tick())) == []
    assert replies(h.apply(wait(8))) == [P.InputReply(8, "r1.a", response)]


@pytest.mark.parametrize("second", [answer({"name": "Max"}), dismiss()])
def test_a_second_answer_or_dismissal_is_refused_and_changes_nothing(
    second: ev.SettleInput,
) -> None:
    h = running()
    h.apply(ask())
    h.apply(answer({"name": "Fido"}))
    error = h.refused(second, Conflict)
    assert getattr(error, "reason", None) == "input_settled"


def test_dismissing_reaches_the_waiting_execution() -> None:
    h = running()
    h.apply(ask())
    h.apply(wait(7))
    effects = h.apply(dismiss())
    assert [e for e in effects if isinstance(e, InputDismissed)] == [
        InputDismissed("r1.a", "r1", "token:t1", h.now)
    ]
    assert replies(effects) == [P.InputReply(7, "r1.a", P.InputDismissed())]
    assert getattr(h.refused(answer({"name": "x"}), Conflict), "reason", None) == "input_settled"


@pytest.mark.parametrize(
    ("value_", "where"),
    [
        ({"age": 3}, "'name' is a required property"),
        ({"name": 5}, "at name: expected string, got 5"),
        ({"name": "x", "age": -1}, "at age"),
        ("Fido", "expected object"),
        (None, "expected object"),
    ],
)
def test_an_answer_that_does_not_fit_the_schema_is_refused_naming_where(
    value_: Any, where: str
) -> None:
    h = running()
    h.apply(ask())
    h.apply(wait(7))
    error = h.refused(answer(value_), BadRequest)
    assert getattr(error, "reason", None) == "invalid_input"
    assert where in str(error)
    # Still pending: a good answer goes through, to the waiter.
    assert replies(h.apply(answer({"name": "Fido"}))) == [
        P.InputReply(7, "r1.a", P.InputResponded({"name": "Fido"}))
    ]


def test_an_approval_takes_null_only() -> None:
    h = running()
    h.apply(ask(schema=None))
    error = h.refused(answer({"yes": True}), BadRequest)
    assert getattr(error, "reason", None) == "invalid_input"
    assert [e for e in h.apply(answer(None)) if isinstance(e, InputResponded)] != []


def test_unknown_inputs_and_bad_requests_are_refused_and_change_nothing() -> None:
    h = running()
    h.apply(ask())
    assert getattr(h.refused(answer({}, "r1.nope"), NotFound), "reason", None) == "unknown_input"
    assert getattr(h.refused(answer({}, "r9.a"), Conflict), "reason", None) == "input_closed"
    h.refused(wait(1, "r1.nope"), NotFound)
    # Only an execution running in the session may ask or wait.
    h.refused(ask(2, key="k2", execution_id="r1:9:1", suffix="z"), NotFound)
    h.refused(ev.AwaitInput("s9", P.GetInput(1, "r1.a", "r1:1:1")), Conflict)
    bad_schema = ask(3, key="k3", schema={"type": 12}, suffix="y")
    assert getattr(h.refused(bad_schema, BadRequest), "reason", None) == "invalid_schema"


def test_a_run_asks_for_a_bounded_number_of_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "MAX_RUN_INPUTS", 2)
    h = running()
    h.apply(ask(1, key="k1", suffix="a"))
    h.apply(ask(2, key="k2", suffix="b"))
    refused = h.refused(ask(3, key="k3", suffix="c"), BadRequest)
    assert getattr(refused, "reason", None) == "too_many_inputs"
    # Asking again for one it has is no new input.
    assert replies(h.apply(ask(4, key="k1", suffix="d"))) == [P.InputReply(4, "r1.a")]
    # A new input's id is of its run, and new.
    taken = h.refused(ev.RequestInput("s1", ask(5, key="k9").request, "r1.a"), BadRequest)
    assert getattr(taken, "reason", None) == "invalid_input_id"
    elsewhere = h.refused(ev.RequestInput("s1", ask(6, key="k9").request, "r2.x"), BadRequest)
    assert getattr(elsewhere, "reason", None) == "invalid_input_id"


def test_an_execution_suspended_for_an_input_waits_until_it_is_answered() -> None:
    h = running()
    h.apply(ask())
    suspended = P.Suspended(waiting_for_inputs=("r1.a",))
    effects = h.apply(ev.CompleteExecution("s1", "r1:1:1", suspended))
    assert ("r1:1:1", S.SUSPENDED) in states(effects)
    assert ("r1:1:2", S.ASSIGNED) not in states(effects)  # the session is free, but held
    h.now += 5
    assert ("r1:1:2", S.ASSIGNED) not in states(h.apply(ev.Tick()))
    assert h.state.executions["r1:1:2"].state is S.QUEUED
    effects = h.apply(answer({"name": "Fido"}))
    assert ("r1:1:2", S.ASSIGNED) in states(effects)
    # The re-run asks again: the same input, answered at once.
    again = h.apply(ask(4, execution_id="r1:1:2", suffix="b"))
    assert replies(again) == [P.InputReply(4, "r1.a", P.InputResponded({"name": "Fido"}))]
    assert replies(h.apply(wait(5, execution_id="r1:1:2"))) == [
        P.InputReply(5, "r1.a", P.InputResponded({"name": "Fido"}))
    ]


def test_inputs_leave_memory_with_their_run() -> None:
    h = running()
    h.apply(ask())
    h.complete("s1", "r1:1:1")
    assert "r1" not in h.state.runs
    assert getattr(h.refused(answer({"name": "x"}), Conflict), "reason", None) == "input_closed"


class Recorded(Harness):
    """A harness that keeps every fact its events caused, as the actor would append."""

    def __init__(self) -> None:
        super().__init__()
        self.facts: list[Fact] = []

    def apply(self, event: ev.Event) -> list[Effect]:
        effects = super().apply(event)
        self.facts.extend(e for e in effects if isinstance(e, Fact))
        return effects


def test_a_pending_input_is_answered_after_a_restart(tmp_path: Path) -> None:
    """The facts go to a real store; the restarted core is restored from its snapshot."""
    h = Recorded()
    h.setup()
    h.submit("r1")
    h.connect()
    h.apply(ask())
    h.apply(ask(2, key="k2", suffix="b"))
    h.apply(answer({"name": "Fido"}, "r1.b"))
    backend = SqliteBackend(tmp_path)
    try:
        store = backend.create()
        store.append(h.facts)
        restarted = Harness()
        restarted.state = restore(store.load_snapshot(), session_timeout=10.0, now=h.now)
        restarted.secrets = h.secrets
        restarted.connect(session_id="s1", executing=("r1:1:1",))
    finally:
        backend.close_all()
    # The pending one is answered now, once, its answer still checked against its
    # schema; the settled one keeps its answer.
    restarted.apply(wait(3))
    bad = restarted.refused(answer({"age": 1}), BadRequest)
    assert getattr(bad, "reason", None) == "invalid_input"
    effects = restarted.apply(answer({"name": "Rex"}))
    assert replies(effects) == [P.InputReply(3, "r1.a", P.InputResponded({"name": "Rex"}))]
    refused = restarted.refused(answer({"name": "x"}, "r1.b"), Conflict)
    assert getattr(refused, "reason", None) == "input_settled"
    # Asked again after the restart: the same inputs, by key.
    assert replies(restarted.apply(ask(9, key="k2", suffix="z"))) == [
        P.InputReply(9, "r1.b", P.InputResponded({"name": "Fido"}))
    ]
    assert replies(restarted.apply(wait(10, "r1.b"))) == [
        P.InputReply(10, "r1.b", P.InputResponded({"name": "Fido"}))
    ]
