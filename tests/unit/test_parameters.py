"""What a parameter's annotation says: its JSON Schema (``parameter_schema``), and
how JSON standing for it is converted on the way in (``convert``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Sequence
from typing import Any, Literal, Optional, TypeVar

import pydantic
import pytest

from coflux.sdk.parameters import convert, parameter_hints, parameter_schema

T = TypeVar("T")


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


class Odd(enum.Enum):
    A = (1, 2)  # not a JSON scalar


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0
    label: str | None = None


@dataclasses.dataclass
class Node:
    value: int
    children: list[Node] = dataclasses.field(default_factory=list)


class Line(pydantic.BaseModel):
    start: Point
    end: Point


INTEGER = {"type": "integer"}


@pytest.mark.parametrize(
    ("annotation", "schema"),
    [
        (int, INTEGER),
        (float, {"type": "number"}),
        (str, {"type": "string"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (list[int], {"type": "array", "items": INTEGER}),
        (Sequence[int], {"type": "array", "items": INTEGER}),
        (set[str], {"type": "array", "items": {"type": "string"}}),
        (list, {"type": "array"}),
        (tuple[int, ...], {"type": "array", "items": INTEGER}),
        (tuple[int, str], {"type": "array", "prefixItems": [INTEGER, {"type": "string"}],
                           "minItems": 2, "maxItems": 2}),
        (dict[str, int], {"type": "object", "additionalProperties": INTEGER}),
        (dict, {"type": "object"}),
        (Optional[int], {"anyOf": [INTEGER, {"type": "null"}]}),  # noqa: UP045
        (int | str, {"anyOf": [INTEGER, {"type": "string"}]}),
        (Literal["a", 1], {"enum": ["a", 1]}),
        (Size, {"enum": ["small", "large"], "title": "Size"}),
        (dt.datetime, {"type": "string", "format": "date-time"}),
        (dt.date, {"type": "string", "format": "date"}),
        (uuid.UUID, {"type": "string", "format": "uuid"}),
        (decimal.Decimal, {"type": ["string", "number"]}),
        (Point, {
            "type": "object", "title": "Point", "additionalProperties": False, "required": ["x"],
            "properties": {
                "x": INTEGER, "y": {"type": "number"},
                "label": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        }),
    ],
)  # fmt: skip
def test_annotations_have_the_schema_of_the_json_standing_for_them(
    annotation: Any, schema: dict[str, Any]
) -> None:
    assert parameter_schema(annotation) == schema


@pytest.mark.parametrize(
    "annotation",
    [Any, object, T, Odd, dict[int, str], int | object, type(None) | T],
)
def test_what_cannot_be_described_is_not_checked(annotation: Any) -> None:
    assert parameter_schema(annotation) is None


def test_an_unknown_item_type_still_checks_the_container() -> None:
    assert parameter_schema(list[object]) == {"type": "array"}
    assert parameter_schema(tuple[int, object]) == {
        "type": "array", "prefixItems": [INTEGER, {}], "minItems": 2, "maxItems": 2,
    }  # fmt: skip


def test_a_self_referencing_dataclass_has_a_bounded_schema() -> None:
    schema = parameter_schema(Node)
    assert schema is not None and schema["properties"]["value"] == INTEGER


def test_pydantic_definitions_are_gathered_at_the_root() -> None:
    schema = parameter_schema(list[Line])
    assert schema is not None
    assert schema["items"]["properties"]["start"] == {"$ref": "#/$defs/Point"}
    assert "Point" in schema["$defs"]


def test_json_becomes_the_declared_types() -> None:
    assert convert({"x": 1, "label": "a"}, Point) == Point(1, 0.0, "a")
    assert convert("large", Size) is Size.LARGE
    assert convert("2026-12-03T10:00:00Z", dt.datetime) == dt.datetime(
        2026, 12, 3, 10, tzinfo=dt.UTC
    )
    assert convert("2026-12-03", dt.date) == dt.date(2026, 12, 3)
    assert convert("1.10", decimal.Decimal) == decimal.Decimal("1.10")
    assert convert([1, "a"], tuple[int, str]) == (1, "a")
    assert convert([1, 1], set[int]) == {1}
    assert convert([{"x": 1}], list[Point]) == [Point(1)]
    assert convert({"a": "small"}, dict[str, Size]) == {"a": Size.SMALL}
    assert convert({"x": 2}, Point | None) == Point(2)
    line = convert({"start": {"x": 1}, "end": {"x": 2}}, Line)
    assert isinstance(line, Line) and line.end.x == 2


def test_values_that_already_are_the_type_or_mean_nothing_to_it_pass_unchanged() -> None:
    point = Point(1)
    assert convert(point, Point) is point
    assert convert(Size.SMALL, Size) is Size.SMALL
    assert convert(None, Point) is None
    assert convert("text", Any) == "text"
    assert convert({"x": 1}, int | Point) == {"x": 1}  # an ambiguous union: left alone
    assert convert((1, 2), list[int]) == (1, 2)  # not JSON: a Python caller's own


def test_json_that_cannot_be_the_declared_type_is_refused() -> None:
    with pytest.raises(TypeError, match="Point has no field 'z'"):
        convert({"x": 1, "z": 2}, Point)
    with pytest.raises(ValueError):
        convert("huge", Size)
    with pytest.raises(TypeError):
        convert({}, Point)  # x is required


def test_hints_are_resolved_and_unresolvable_ones_are_none() -> None:
    def fine(a: int, b: list[Point]) -> str:
        return ""

    def broken(a: Missing) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    assert parameter_hints(fine) == {"a": int, "b": list[Point]}
    assert parameter_hints(broken) == {}
