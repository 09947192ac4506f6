"""The value codec, by property: whatever it accepts comes back the same, inline or as a blob.

Every value travels as the server would see it (encoded as a protocol message,
decoded again with the bounds checked), so a value the SDK makes is never one
the server refuses. Examples: ``COFLUX_FUZZ_EXAMPLES`` (default 300).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import os
from collections.abc import Callable
from typing import IO, Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coflux import protocol, serialization

EXAMPLES = int(os.environ.get("COFLUX_FUZZ_EXAMPLES", "300"))
fuzz = settings(max_examples=EXAMPLES, deadline=None)

_hashable = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.dates()
    | st.uuids()
    | st.decimals(allow_nan=False),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=6,
)
_scalars = (
    _hashable
    | st.floats()  # NaN and the infinities included
    | st.text(alphabet=st.characters(codec=None), max_size=8)  # lone surrogates too
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.times(timezones=st.none() | st.just(dt.UTC))
    | st.timedeltas()
    | st.builds(bytearray, st.binary(max_size=8))
)
values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.sets(_hashable, max_size=4)
        | st.dictionaries(st.text(max_size=4) | st.just("$"), inner, max_size=4)
        | st.dictionaries(_hashable, inner, max_size=3)
    ),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, decimal.Decimal):
        return a == b or (a.is_nan() and b.is_nan())
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return len(a) == len(b) and all(k in b and same(v, b[k]) for k, v in a.items())
    if isinstance(a, dt.datetime | dt.time):
        return a == b and a.tzinfo == b.tzinfo and a.fold == b.fold
    return bool(a == b)


def on_the_wire(value: protocol.Value) -> protocol.Value:
    """The value as the server gets it: one Complete message, encoded and decoded."""
    complete = protocol.Complete("r:1:1", protocol.Succeeded(value))
    (decoded,) = protocol.decode_agent_frame(protocol.encode_frame([complete]))
    assert isinstance(decoded, protocol.Complete)
    assert isinstance(decoded.outcome, protocol.Succeeded)
    return decoded.outcome.value


class MemoryBlobs:
    """A blob store in a dict, for the codec's blob path."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def store(self, write: Callable[[Any], None]) -> tuple[str, int]:
        buffer = io.BytesIO()
        write(buffer)
        key = f"{len(self.blobs):064x}"
        self.blobs[key] = buffer.getvalue()
        return key, len(self.blobs[key])

    def open(self, key: str) -> IO[bytes]:
        return io.BytesIO(self.blobs[key])

    def upload_file(self, path: str) -> tuple[str, int]:
        raise NotImplementedError

    def download_to(self, key: str, destination: str) -> None:
        raise NotImplementedError


@fuzz
@given(value=values)
def test_every_value_round_trips_inline(value: Any) -> None:
    encoded = on_the_wire(serialization.serialize(value))
    assert same(serialization.deserialize(encoded), value)


@fuzz
@given(value=values)
def test_every_value_round_trips_through_the_blob_store(value: Any) -> None:
    codec = serialization.ValueCodec(MemoryBlobs(), threshold=0)
    encoded = on_the_wire(codec.dump(value))
    assert same(codec.load(encoded), value)


def _nest(depth: int, wrap: Callable[[Any], Any], leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = wrap(value)
    return value


@fuzz
@given(
    depth=st.integers(min_value=0, max_value=400),
    wrap=st.sampled_from([lambda v: [v], lambda v: (v,), lambda v: {"k": v}, lambda v: {1: v}]),
    leaf=st.sampled_from([1, b"x", dt.date(2024, 1, 1), float("inf"), frozenset({1})]),
)
def test_values_of_any_depth_round_trip_within_the_protocols_limit(
    depth: int, wrap: Callable[[Any], Any], leaf: Any
) -> None:
    # Past the limit the tree would be refused by the server: the value is pickled instead.
    value = _nest(depth, wrap, leaf)
    encoded = on_the_wire(serialization.serialize(value))
    assert same(serialization.deserialize(encoded), value)


def test_a_value_within_the_limit_stays_a_json_tree() -> None:
    value = _nest(protocol.MAX_VALUE_DEPTH - 2, lambda v: [v], b"x")
    assert serialization.serialize(value).label is None
    deeper = serialization.serialize([value])
    assert deeper.label == "builtins.list"  # pickled


class Tree(pydantic.BaseModel):
    data: Any


@pytest.mark.parametrize("depth", [0, protocol.MAX_VALUE_DEPTH - 2, protocol.MAX_VALUE_DEPTH - 1])
def test_pydantic_data_nested_past_the_limit_is_pickled(depth: int) -> None:
    value = Tree(data=_nest(depth, lambda v: [v], 1))
    encoded = on_the_wire(serialization.serialize(value))
    # {"$": "pydantic", "v": {"data": ...}}: two levels above the model's data.
    assert (encoded.label is None) == (depth + 2 <= protocol.MAX_VALUE_DEPTH)
    assert serialization.deserialize(encoded) == value
