"""``cf.Prompt`` and ``cf.Input`` in an execution context over a fake channel: what a
prompt sends (schema, key, placeholders, initial, tags), the fluent overrides, the
answer parsed into its model, dismissal, polling, and suspension inside
``cf.suspense``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

import coflux as cf
from coflux import protocol
from coflux.sdk import context
from tests.unit.test_sdk_context import FakeChannel


class Label(BaseModel):
    sentiment: str
    confidence: int = Field(ge=1, le=5)


class Inputs:
    """A fake server: inputs by key (ids i0, i1, ...), answered from ``answers``."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.answers: dict[str, protocol.InputResponse] = {}

    def __call__(self, message: Any) -> protocol.InputReply | None:
        if isinstance(message, protocol.SubmitInput):
            input_id = self.ids.setdefault(message.key, f"i{len(self.ids)}")
            return protocol.InputReply(message.request_id, input_id)
        assert isinstance(message, protocol.GetInput)
        answer = self.answers.get(message.input_id)
        if answer is None:
            return None
        return protocol.InputReply(message.request_id, message.input_id, answer)


@pytest.fixture
def inputs() -> Iterator[tuple[Inputs, FakeChannel]]:
    server = Inputs()
    channel = FakeChannel(server)  # type: ignore[arg-type]
    token = context.activate(context.ExecutionContext("r1:1:1", channel))
    try:
        yield server, channel
    finally:
        context.reset(token)


def test_a_model_prompt_sends_its_schema_and_returns_an_instance(
    inputs: tuple[Inputs, FakeChannel],
) -> None:
    server, channel = inputs
    label = cf.Prompt("Label {text}", model=Label, title="Label", requires={"role": "qa"})
    handle = label.submit(text="great")
    [asked] = channel.of(protocol.SubmitInput)
    assert asked.schema == Label.model_json_schema()
    assert (asked.template, asked.title, asked.execution_id) == ("Label {text}", "Label", "r1:1:1")
    assert asked.placeholders["text"].data == "great"
    assert asked.requires == {"role": ("qa",)}
    server.answers[handle.id] = protocol.InputResponded({"sentiment": "up", "confidence": 2})
    result = handle.result()
    assert isinstance(result, Label) and result == Label(sentiment="up", confidence=2)


def test_equal_asks_share_a_key_and_other_values_do_not(inputs: tuple[Inputs, FakeChannel]) -> None:
    _, channel = inputs
    approve = cf.Prompt("Deploy {service}?")
    first, second, other = (approve.submit(service=s) for s in ("api", "api", "db"))
    assert first == second and first.id == second.id and other.id != first.id
    keys = [m.key for m in channel.of(protocol.SubmitInput)]
    assert keys[0] == keys[1] != keys[2]
    keyed = approve.with_key("fixed")
    assert keyed.submit(service="x").id == keyed.submit(service="y").id
    assert channel.of(protocol.SubmitInput)[-1].key == "fixed"


def test_fluent_overrides_leave_the_original_unchanged(inputs: tuple[Inputs, FakeChannel]) -> None:
    _, channel = inputs
    label = cf.Prompt("Label {text}", model=Label)
    label.with_initial(Label(sentiment="up", confidence=4)).with_actions(
        "Save", "Skip"
    ).with_requires({"team": ["a", "b"], "lead": True}).submit(text="x")
    label.submit(text="x")
    changed, original = channel.of(protocol.SubmitInput)
    assert (changed.initial, changed.actions) == (
        {"sentiment": "up", "confidence": 4},
        ("Save", "Skip"),
    )
    assert changed.requires == {"team": ("a", "b"), "lead": ("true",)}
    assert (original.initial, original.actions, original.requires) == (None, None, {})
    assert changed.key != original.key  # the actions are shown, so part of the key


@pytest.mark.parametrize(
    ("model", "answer", "expected"),
    [
        (None, None, None),
        (str, "Ann", "Ann"),
        (int, 3, 3),
        (float, 2, 2.0),
        (bool, True, True),
        (dt.date, "2026-12-24", dt.date(2026, 12, 24)),
        (dt.time, "10:30:00", dt.time(10, 30)),
        (dt.datetime, "2026-12-24T10:30:00", dt.datetime(2026, 12, 24, 10, 30)),
    ],
)
def test_primitive_models_come_back_as_their_type(
    inputs: tuple[Inputs, FakeChannel], model: Any, answer: Any, expected: Any
) -> None:
    server, channel = inputs
    handle = cf.Prompt("Value?", model=model).submit()
    schema = channel.of(protocol.SubmitInput)[0].schema
    assert (schema is None) == (model is None)
    server.answers[handle.id] = protocol.InputResponded(answer)
    result = handle.result()
    assert result == expected and type(result) is type(expected)


def test_a_raw_schema_returns_json_and_a_dismissal_raises(
    inputs: tuple[Inputs, FakeChannel],
) -> None:
    server, channel = inputs
    prompt = cf.Prompt("Name?", schema='{"type": "object"}')
    handle = prompt.submit()
    assert channel.of(protocol.SubmitInput)[0].schema == {"type": "object"}
    server.answers[handle.id] = protocol.InputDismissed()
    with pytest.raises(cf.InputDismissed, match="was dismissed"):
        handle.result()
    with pytest.raises(cf.InputDismissed):
        handle.poll()


def test_polling_an_unanswered_input_gives_the_default(inputs: tuple[Inputs, FakeChannel]) -> None:
    handle = cf.Prompt("OK?").submit()
    assert handle.poll() is None
    with cf.suspense():  # never suspends
        assert handle.poll(0.01, default="later") == "later"


def test_waiting_inside_suspense_suspends_for_the_input(inputs: tuple[Inputs, FakeChannel]) -> None:
    handle = cf.Prompt("OK?").submit()
    with cf.suspense(), pytest.raises(context.Suspension) as suspended:
        handle.result()
    assert suspended.value.waiting_for_inputs == (handle.id,)
    assert suspended.value.waiting_for == ()


def test_outside_an_execution_asking_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="only possible inside a Coflux execution"):
        cf.Prompt("OK?")()
    with pytest.raises(TypeError, match="not both"):
        cf.Prompt("OK?", model=str, schema={"type": "string"})
    with pytest.raises(TypeError, match="model_json_schema"):
        cf.Prompt("OK?", model=list)
