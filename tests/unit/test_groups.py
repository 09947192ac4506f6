"""``cf.group``: the executor numbers the groups of each execution and sends each call's
group with it; the core records it on the step it creates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

import coflux as cf
from coflux import protocol as P
from coflux.orchestration import events as ev
from coflux.orchestration.effects import StepCreated
from coflux.sdk import context
from tests.unit.test_core import Harness, submission
from tests.unit.test_select import RacingChannel, SettlingReply

# --- the core records a call's group on its step ------------------------------------


def steps_created(h: Harness, session: str, *groups: P.Group | None) -> list[StepCreated]:
    created = []
    for index, group in enumerate(groups):
        submit = msgspec.structs.replace(submission("r1:1:1", index), group=group)
        effects = h.apply(ev.ScheduleStep(session, submit))
        created += [e for e in effects if isinstance(e, StepCreated)]
    return created


def test_a_call_made_in_a_group_records_the_group_on_its_step() -> None:
    h = Harness()
    h.setup()
    session, _ = h.connect()
    h.submit("r1")
    chapters = P.Group(index=0, name="Process chapters")
    unnamed = P.Group(index=1)
    created = steps_created(h, session, chapters, chapters, unnamed, None)
    assert [(s.step_id, s.group) for s in created] == [
        ("r1:2", chapters),
        ("r1:3", chapters),
        ("r1:4", unnamed),
        ("r1:5", None),
    ]


def test_a_run_s_first_step_is_in_no_group() -> None:
    h = Harness()
    h.setup()
    (step,) = [e for e in h.submit("r1") if isinstance(e, StepCreated)]
    assert step.group is None


# --- the executor numbers groups per execution ----------------------------------------


@cf.task()
def chapter(n: int) -> int:
    return n


@cf.workflow()
def grouped() -> None:
    with cf.group("First group"):
        chapter(1)
        chapter.submit(2)
    with cf.group("Second group"):
        chapter(3)
    chapter(4)  # outside any group
    with cf.group():
        chapter(5)


class AnsweringChannel(RacingChannel):
    """Every call succeeds at once (with ``None``)."""

    def submit(self, make: Callable[[int], P.Submit]) -> tuple[SettlingReply, SettlingReply]:
        submitted, outcome = super().submit(make)
        execution_id = f"C{self.sent[-1].call_index}"
        self.finish(execution_id, P.Succeeded(P.Value("json")))
        return submitted, outcome


@pytest.fixture
def run_as() -> Iterator[Callable[[str], AnsweringChannel]]:
    """Activate a new execution context with the given id; returns its channel."""
    tokens: list[Any] = []

    def activate(execution_id: str) -> AnsweringChannel:
        channel = AnsweringChannel()
        tokens.append(context.activate(context.ExecutionContext(execution_id, channel)))
        return channel

    yield activate
    for token in reversed(tokens):
        context.reset(token)


def sent_groups(channel: AnsweringChannel) -> list[P.Group | None]:
    return [m.group for m in channel.sent if isinstance(m, P.Submit)]


def test_groups_are_numbered_per_execution_and_keep_their_names(
    run_as: Callable[[str], AnsweringChannel],
) -> None:
    first = run_as("E1")
    grouped.fn()
    assert sent_groups(first) == [
        P.Group(0, "First group"),
        P.Group(0, "First group"),
        P.Group(1, "Second group"),
        None,
        P.Group(2, None),
    ]
    # Another execution numbers its own groups from 0.
    second = run_as("E2")
    grouped.fn()
    assert sent_groups(second) == sent_groups(first)


def test_a_group_opened_inside_another_is_a_group_of_its_own(
    run_as: Callable[[str], AnsweringChannel],
) -> None:
    channel = run_as("E1")
    with cf.group("outer"):
        chapter(1)
        with cf.group("inner"):
            chapter(2)
        chapter(3)
    assert sent_groups(channel) == [P.Group(0, "outer"), P.Group(1, "inner"), P.Group(0, "outer")]


def test_a_group_outside_an_execution_does_nothing() -> None:
    with cf.group("local"):
        assert chapter(7) == 7
