"""Types and sample values shared by the two repositories of the values tests
(a package, not a repository: it defines no targets).

Imported by both agents (it sits next to their files), so pickled instances and
Pydantic models can be rebuilt on either side.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import zoneinfo
from typing import Any

import pydantic


class Point:
    """Not JSON and not Pydantic: travels pickled."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (other.x, other.y) == (self.x, self.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))


class User(pydantic.BaseModel):
    name: str
    joined: dt.date
    tags: list[str] = []


def sample() -> dict[str, Any]:
    """One value of every supported kind, nested."""
    zone = zoneinfo.ZoneInfo("Europe/Paris")
    return {
        "json": {"a": [1, 2.5, "x", None, True], "nested": {"b": []}},
        "tuple": (1, ("a", b"b")),
        "set": {1, 2, 3},
        "frozenset": frozenset({"x", (1, 2)}),
        "bytes": b"\x00\xffbytes",
        "bytearray": bytearray(b"mutable"),
        "datetime": dt.datetime(2024, 3, 31, 2, 30, tzinfo=dt.UTC),
        "zoned": dt.datetime(2024, 10, 27, 2, 30, tzinfo=zone, fold=1),
        "naive": dt.datetime(2024, 1, 2, 3, 4, 5, 6),
        "date": dt.date(2024, 2, 29),
        "time": dt.time(12, 30, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
        "timedelta": dt.timedelta(days=-1, seconds=5, microseconds=7),
        "decimal": decimal.Decimal("3.14159265358979323846264338327950288"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "big int": 2**100,
        "float": float("inf"),
        "dollar": {"$": "not a tag"},
        (1, 2): "tuple key",
        3: {frozenset({1}): "nested non-string key"},
        "model": User(name="Ada", joined=dt.date(1843, 1, 1), tags=["math"]),
        "pickled": Point(1, 2),
        "list of points": [Point(i, -i) for i in range(3)],
        "long text": "long " * 100,
    }


def differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """Where ``a`` and ``b`` differ in value or in type, all the way down."""
    if type(a) is not type(b):
        return [f"{path}: {type(a).__name__} != {type(b).__name__}"]
    if isinstance(a, dict):
        if list(map(repr, a)) != list(map(repr, b)):
            return [f"{path}: keys {list(a)!r} != {list(b)!r}"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}[{k!r}]")]
    if isinstance(a, list | tuple):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, dt.datetime | dt.time):
        return [] if a == b and repr(a) == repr(b) else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, decimal.Decimal):
        return [] if a.compare_total(b) == 0 else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]
