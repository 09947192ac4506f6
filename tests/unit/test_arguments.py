"""The server's check of a submitted run's arguments against its target's manifest
entry (``orchestration/arguments.py``): counts, and each plain-JSON argument
against its parameter's schema, refused with the parameter named."""

from __future__ import annotations

from typing import Any

import pytest

from coflux import protocol
from coflux.errors import BadRequest
from coflux.orchestration.arguments import check_arguments
from coflux.sdk.parameters import parameter_schema
from coflux.serialization import from_json, serialize


def target(*parameters: protocol.Parameter) -> protocol.TargetDefinition:
    return protocol.TargetDefinition(name="place", type="workflow", parameters=parameters)


def param(name: str, annotation: Any, default: str | None = None) -> protocol.Parameter:
    return protocol.Parameter(name=name, default=default, schema=parameter_schema(annotation))


PLACE = target(param("count", int), param("sizes", list[str]), param("note", str, "''"))


def refusal(definition: protocol.TargetDefinition, *values: Any) -> str:
    with pytest.raises(BadRequest) as refused:
        check_arguments(definition, [from_json(v) for v in values])
    assert refused.value.status == 400
    return f"{refused.value.reason}: {refused.value.message}"


def test_arguments_that_fit_pass() -> None:
    check_arguments(PLACE, [from_json(2), from_json(["a", "b"])])
    check_arguments(PLACE, [from_json(2), from_json([]), from_json("n")])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("2", ["a"]), "invalid_argument: argument 'count' (arguments[0]) of place: expected integer, got \"2\""),
        ((2, ["a", 3]), "invalid_argument: argument 'sizes' (arguments[1]) of place at [1]: expected string, got 3"),
        ((2, "a"), "invalid_argument: argument 'sizes' (arguments[1]) of place: expected array, got \"a\""),
        ((2, [], None), "invalid_argument: argument 'note' (arguments[2]) of place: expected string, got null"),
        ((2,), "wrong_argument_count: place takes 2 to 3 argument(s), but 1 were given"),
    ],
)  # fmt: skip
def test_a_wrong_argument_is_refused_naming_it(values: tuple[Any, ...], message: str) -> None:
    assert refusal(PLACE, *values) == message


def test_nested_fields_are_named_by_their_path() -> None:
    definition = target(param("orders", dict[str, list[int]]))
    message = refusal(definition, {"a": [1, 2], "b": [3, "x"]})
    assert "argument 'orders' (arguments[0]) of place at b[1]: expected integer" in message


def test_tagged_arguments_and_unchecked_parameters_pass() -> None:
    # A tuple (tagged, from a Python client) is not what the schema describes, but
    # it is not JSON typed in either: the executor converts or the function decides.
    check_arguments(PLACE, [from_json(1), serialize(("a", "b"))])
    anything = target(protocol.Parameter(name="x"))
    check_arguments(anything, [from_json({"what": "ever"})])


def test_a_schema_that_is_not_valid_checks_nothing() -> None:
    broken = target(protocol.Parameter(name="x", schema={"type": 12}))
    check_arguments(broken, [from_json("anything")])


def test_patterns_are_not_run_on_the_server() -> None:
    # A regular expression from a manifest could take the server forever: the
    # executor (a Pydantic model) checks it instead.
    evil = target(protocol.Parameter(name="x", schema={"type": "string", "pattern": "^(a+)+$"}))
    check_arguments(evil, [from_json("a" * 40 + "!")])
    assert "expected string" in refusal(evil, 3)
