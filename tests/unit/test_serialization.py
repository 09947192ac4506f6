"""Values round-trip through ``coflux.serialization`` with their exact types."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import hashlib
import io
import json
import math
import pickle
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any

import msgspec
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coflux import protocol
from coflux.sdk.handles import Asset, Execution
from coflux.serialization import (
    ValueCodec,
    deserialize,
    from_json,
    log_value,
    serialize,
    to_display,
    value_blob_as_inline,
)


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (other.x, other.y) == (self.x, self.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))


class Colour(enum.IntEnum):
    RED = 1


class Stamp(int):
    """A subclass of a JSON type."""


@dataclasses.dataclass(frozen=True)
class Parcel:
    size: Colour
    dims: tuple[int, int]
    when: dt.date | None = None


@dataclasses.dataclass
class Tally:
    count: int
    seen: list[int] = dataclasses.field(default_factory=list, init=False)


class FakeModel:
    """Quacks like a Pydantic v2 model (pydantic itself is not a dependency)."""

    def __init__(self, name: str, when: str) -> None:
        self.name, self.when = name, when

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        assert mode == "json"
        return {"name": self.name, "when": self.when, "$": "not a tag"}

    @classmethod
    def model_validate(cls, data: dict[str, Any]) -> FakeModel:
        return cls(data["name"], data["when"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FakeModel) and (other.name, other.when) == (self.name, self.when)


def same(a: Any, b: Any) -> bool:
    """Equal *and* of the same types all the way down (nan-aware, precision-aware)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, Decimal):
        return a.compare_total(b) == 0
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if isinstance(a, set | frozenset):
        return a == b and _same_members(a, b)
    if isinstance(a, dt.datetime | dt.time):
        return a == b and repr(a) == repr(b)
    return bool(a == b)


def _same_members(a: set[Any] | frozenset[Any], b: set[Any] | frozenset[Any]) -> bool:
    remaining = list(b)
    for x in a:
        match = next((i for i, y in enumerate(remaining) if same(x, y)), None)
        if match is None:
            return False
        remaining.pop(match)
    return not remaining


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def round_trip(value: Any) -> Any:
    encoded = serialize(value)
    # The value survives the wire (msgpack and JSON) too.
    wired = msgspec.json.decode(msgspec.json.encode(encoded), type=protocol.Value)
    return deserialize(wired)


# --- strategies -----------------------------------------------------------------

hashable_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.decimals(allow_nan=False)
    | st.uuids()
    | st.dates()
    | st.timedeltas()
)
scalars = (
    hashable_scalars
    | st.floats()
    | st.decimals()
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.times(timezones=st.none() | st.timezones())
    | st.binary().map(bytearray)
    | st.builds(Point, st.integers(), st.integers())
)
hashables = st.recursive(
    hashable_scalars,
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=6,
)
keys = st.text(max_size=3) | st.sampled_from(["$", "v", "$$"])
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(keys, inner, max_size=4)
        | st.dictionaries(hashables, inner, max_size=4)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=4)
    ),
    max_leaves=20,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


# --- properties -------------------------------------------------------------------


@given(values)
def test_values_round_trip_with_their_types(value: Any) -> None:
    assert same(round_trip(value), value)


@given(values)
def test_size_is_the_length_of_the_encoded_data(value: Any) -> None:
    encoded = serialize(value)
    assert encoded.format == "json"
    assert encoded.size == len(msgspec.json.encode(encoded.data))


@given(st.dictionaries(keys, json_values, max_size=4))
def test_dicts_with_dollar_keys_round_trip(value: dict[str, Any]) -> None:
    assert same(round_trip(value), value)


@given(st.dictionaries(hashables, st.integers(), min_size=1, max_size=4))
def test_dicts_with_any_keys_round_trip(value: dict[Any, int]) -> None:
    assert same(round_trip(value), value)


@given(st.datetimes(timezones=st.timezones()))
def test_timezone_aware_datetimes_keep_their_zone(value: dt.datetime) -> None:
    back = round_trip(value)
    assert same(back, value)
    assert back.utcoffset() == value.utcoffset()


@given(st.decimals())
def test_decimals_keep_their_precision(value: Decimal) -> None:
    assert same(round_trip(value), value)


@given(json_values)
def test_from_json_round_trips_plain_json(value: Any) -> None:
    wrapped = from_json(value)
    assert same(deserialize(wrapped), value)
    assert same(to_display(wrapped), value)


@given(values)
def test_display_is_plain_json(value: Any) -> None:
    displayed = to_display(serialize(value))
    json.dumps(displayed, allow_nan=False)  # raises if it is not plain JSON


# --- examples -----------------------------------------------------------------------


def test_json_types_stand_for_themselves() -> None:
    value = {"a": [1, 2.5, "x", None, True], "b": {}}
    assert serialize(value).data == value


@pytest.mark.parametrize(
    ("value", "data"),
    [
        (2**63, {"$": "int", "v": str(2**63)}),
        (-(2**63) - 1, {"$": "int", "v": str(-(2**63) - 1)}),
        (float("nan"), {"$": "float", "v": "nan"}),
        (float("-inf"), {"$": "float", "v": "-inf"}),
        ((1, 2), {"$": "tuple", "v": [1, 2]}),
        ({"$": 1}, {"$": "dict", "v": [["$", 1]]}),
        ({1: "a"}, {"$": "dict", "v": [[1, "a"]]}),
        (b"hi", {"$": "bytes", "v": "aGk="}),
        (dt.timedelta(days=1, seconds=2, microseconds=3), {"$": "timedelta", "v": [1, 2, 3]}),
        (Decimal("1.10"), {"$": "decimal", "v": "1.10"}),
        (dt.date(2024, 2, 29), {"$": "date", "v": "2024-02-29"}),
    ],
)
def test_tagged_encodings(value: Any, data: Any) -> None:
    assert serialize(value).data == data


def test_zoneinfo_datetimes_keep_zone_and_fold() -> None:
    zone = zoneinfo.ZoneInfo("America/New_York")
    ambiguous = dt.datetime(2021, 11, 7, 1, 30, tzinfo=zone, fold=1)
    back = round_trip(ambiguous)
    assert back.tzinfo is zone and back.fold == 1 and back.utcoffset() == dt.timedelta(hours=-5)
    fixed = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert same(round_trip(fixed), fixed)


def test_other_objects_are_pickled_and_labelled() -> None:
    encoded = serialize(Point(1, 2))
    assert encoded.label == f"{__name__}.Point"
    assert encoded.data["$"] == "pickle"
    assert round_trip(Point(1, 2)) == Point(1, 2)
    # Subclasses of JSON types are pickled too, so that they come back exact.
    assert same(round_trip(Stamp(5)), Stamp(5))
    assert serialize(Stamp(5)).label == f"{__name__}.Stamp"


def test_enum_members_and_dataclasses_are_structured_not_pickled() -> None:
    # An IntEnum is an int too: it comes back as its member, not as the int.
    assert round_trip(Colour.RED) is Colour.RED
    assert serialize(Colour.RED).data == {
        "$": "enum",
        "c": f"{__name__}:Colour",
        "n": "RED",
        "v": 1,
    }
    parcel = Parcel(Colour.RED, (1, 2), when=dt.date(2026, 12, 3))
    encoded = serialize(parcel)
    assert encoded.format == "json" and encoded.label is None
    assert encoded.data["$"] == "dataclass" and encoded.data["c"] == f"{__name__}:Parcel"
    back = round_trip(parcel)
    assert back == parcel and type(back.size) is Colour and type(back.dims) is tuple
    assert to_display(encoded) == {"size": 1, "dims": [1, 2], "when": "2026-12-03"}
    # One that calling its class with its fields would not make again is pickled.
    assert serialize(Tally(3)).data["$"] == "pickle"
    assert round_trip(Tally(3)) == Tally(3)


def test_cyclic_values_fall_back_to_pickle() -> None:
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    back = round_trip(cyclic)
    assert back[0] == 1 and back[1] is back


def test_values_that_cannot_be_pickled_are_rejected_clearly() -> None:
    with pytest.raises(TypeError, match="cannot serialise a value of type"):
        serialize(lambda: 1)


def test_pydantic_models_are_detected_by_shape() -> None:
    model = FakeModel("Ada", "2024-01-01")
    encoded = serialize([model])
    assert encoded.data == [
        {
            "$": "pydantic",
            "c": f"{__name__}:FakeModel",
            "v": {"name": "Ada", "when": "2024-01-01", "$": "not a tag"},
        }
    ]
    assert round_trip([model]) == [model]
    assert to_display(encoded) == [{"name": "Ada", "when": "2024-01-01", "$": "not a tag"}]


def test_surrogates_in_strings_survive() -> None:
    value = {"\udc80": "x\ud800y"}
    assert same(round_trip(value), value)


def test_execution_handles_are_listed_and_resolved() -> None:
    encoded = serialize({"a": Execution("E1"), "b": [Execution("E2"), Execution("E1")]})
    assert encoded.executions == ("E1", "E2")
    assert encoded.data["a"] == {"$": "execution", "v": "E1"}
    resolved = deserialize(encoded, resolve_execution=lambda i: f"handle {i}")
    assert resolved == {"a": "handle E1", "b": ["handle E2", "handle E1"]}
    unbound = deserialize(encoded)
    assert isinstance(unbound["a"], Execution) and unbound["a"].id == "E1"


def test_asset_handles_are_listed() -> None:
    encoded = serialize(Asset("A1"))
    assert encoded.assets == ("A1",)
    assert deserialize(encoded) == Asset("A1")


def test_display() -> None:
    value = {
        "set": {3},
        "tuple": (1, "a"),
        "when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "bytes": b"hi",
        "point": Point(1, 2),
        "execution": Execution("E9"),
        1: "non-string key",
        "big": 2**70,
        "uuid": uuid.UUID(int=1),
    }
    assert to_display(serialize(value)) == {
        "set": [3],
        "tuple": [1, "a"],
        "when": "2024-01-02T03:04:05+00:00",
        "bytes": "aGk=",
        "point": f"<pickled {__name__}.Point>",
        "execution": "<execution E9>",
        "1": "non-string key",
        "big": 2**70,
        "uuid": "00000000-0000-0000-0000-000000000001",
    }


def test_blob_references_are_not_decoded_here() -> None:
    value = protocol.Value(format="json", blob="ab" * 32, size=1000)
    assert to_display(value) == f"<blob {'ab' * 32}>"
    with pytest.raises(ValueError, match="blob store"):
        deserialize(value)


def test_from_json_rejects_non_json() -> None:
    with pytest.raises(TypeError, match="not a JSON value"):
        from_json({"a": (1, 2)})
    with pytest.raises(TypeError, match="keys must be strings"):
        from_json({1: 2})


def test_unknown_tags_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown value tag"):
        deserialize(protocol.Value(format="json", data={"$": "mystery", "v": 1}))


# --- values through the blob store (ValueCodec) -------------------------------------


class MemoryBlobs:
    """An in-memory ``BlobAccess``: what an executor's blob client does, minus HTTP."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def store(self, write: Any) -> tuple[str, int]:
        buffer = io.BytesIO()
        write(buffer)
        content = buffer.getvalue()
        key = hashlib.sha256(content).hexdigest()
        self.blobs[key] = content
        return key, len(content)

    def open(self, key: str) -> io.BytesIO:
        return io.BytesIO(self.blobs[key])

    def upload_file(self, path: str) -> tuple[str, int]:
        raise NotImplementedError

    def download_to(self, key: str, destination: str) -> None:
        raise NotImplementedError


def blob_round_trip(value: Any, threshold: int = 0) -> Any:
    codec = ValueCodec(MemoryBlobs(), threshold)
    encoded = codec.dump(value)
    wired = msgspec.json.decode(msgspec.json.encode(encoded), type=protocol.Value)
    return codec.load(wired)


@settings(deadline=None)  # timing varies with the machine's load, not the code
@given(values)
def test_values_round_trip_through_blobs(value: Any) -> None:
    assert same(blob_round_trip(value), value)


@settings(deadline=None)  # timing varies with the machine's load, not the code
@given(values, st.integers(min_value=0, max_value=400))
def test_values_round_trip_at_any_threshold(value: Any, threshold: int) -> None:
    codec = ValueCodec(MemoryBlobs(), threshold)
    encoded = codec.dump(value)
    inline = serialize(value)
    if inline.size <= threshold:
        assert encoded == inline  # small values stay inline, exactly as serialize makes them
    else:
        assert encoded.blob is not None and encoded.data is None
        assert (encoded.executions, encoded.assets) == (inline.executions, inline.assets)
    assert same(codec.load(encoded), value)


@settings(deadline=None)  # timing varies with the machine's load, not the code
@given(values)
def test_blob_values_display_like_inline_ones(value: Any) -> None:
    blobs = MemoryBlobs()
    encoded = ValueCodec(blobs, 0).dump(value)
    assert encoded.blob is not None
    inline = value_blob_as_inline(encoded, blobs.open(encoded.blob))
    assert to_display(inline) == to_display(serialize(value))


def test_the_default_threshold_is_200_bytes() -> None:
    codec = ValueCodec(MemoryBlobs())
    assert codec.dump("x" * 190).data == "x" * 190
    big = codec.dump("x" * 300)
    assert big.blob is not None and big.size > 300


def test_without_a_blob_store_everything_is_inline() -> None:
    encoded = ValueCodec().dump(b"x" * 10_000)
    assert encoded.blob is None and encoded.data == {"$": "bytes", "v": _b64(b"x" * 10_000)}
    with pytest.raises(ValueError, match="not configured"):
        ValueCodec().load(protocol.Value(format="json", blob="ab" * 32, size=9))


def test_large_binary_payloads_are_raw_segments_not_base64() -> None:
    blobs = MemoryBlobs()
    data = bytes(range(256)) * 4096  # 1 MiB
    encoded = ValueCodec(blobs).dump({"payload": data, "n": 1})
    content = blobs.blobs[encoded.blob or ""]
    assert len(content) < len(data) + 200  # no base64 inflation
    assert content.startswith(b"coflux-value/1\n")
    assert data in content
    back = ValueCodec(blobs).load(encoded)
    assert back == {"payload": data, "n": 1} and type(back["payload"]) is bytes


def test_bytearray_segments_come_back_writable() -> None:
    back = blob_round_trip(bytearray(b"abc" * 100))
    assert type(back) is bytearray
    back[0] = ord("z")


class Matrix:
    """Pickles its buffer out of band (protocol 5), like a NumPy array."""

    def __init__(self, data: bytearray) -> None:
        self.data = data

    def __reduce_ex__(self, protocol: int) -> Any:
        return (Matrix, (pickle.PickleBuffer(self.data),))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Matrix) and bytes(other.data) == bytes(self.data)


def test_pickle_out_of_band_buffers_become_segments() -> None:
    blobs = MemoryBlobs()
    matrix = Matrix(bytearray(b"\x01\x02" * 50_000))
    encoded = ValueCodec(blobs).dump([matrix])
    assert encoded.label is None  # a list holding a pickled value
    content = blobs.blobs[encoded.blob or ""]
    assert bytes(matrix.data) in content
    back = ValueCodec(blobs).load(encoded)
    assert back == [matrix]
    # Inline, the buffer travels in-band as base64 and comes back the same.
    assert round_trip(matrix) == matrix


def test_a_truncated_or_foreign_blob_is_refused() -> None:
    blobs = MemoryBlobs()
    encoded = ValueCodec(blobs).dump(b"x" * 1000)
    key = encoded.blob or ""
    blobs.blobs[key] = blobs.blobs[key][:-10]
    with pytest.raises(ValueError, match="truncated"):
        ValueCodec(blobs).load(encoded)
    blobs.blobs[key] = b"something else"
    with pytest.raises(ValueError, match="not a Coflux value blob"):
        ValueCodec(blobs).load(encoded)


def test_asset_handles_carry_their_description() -> None:
    asset = Asset("a1", kind="file", path="out/r.csv", size=3, file_count=1, metadata={"$": "x"})
    encoded = serialize({"asset": asset})
    assert encoded.assets == ("a1",)
    back = deserialize(encoded)["asset"]
    assert back == asset
    assert (back.kind, back.path, back.size, back.file_count, back.metadata) == (
        "file", "out/r.csv", 3, 1, {"$": "x"}
    )  # fmt: skip
    assert to_display(encoded) == {"asset": "<asset a1>"}
    assert pickle.loads(pickle.dumps(asset)).path == "out/r.csv"


def test_log_values_never_fail() -> None:
    class Unpicklable:
        def __reduce__(self) -> Any:
            raise TypeError("no")

        def __repr__(self) -> str:
            return "<unpicklable>"

    assert deserialize(log_value(Unpicklable())) == "<unpicklable>"
    assert deserialize(log_value({1, 2})) == {1, 2}


# --- Pydantic (the real thing) --------------------------------------------------------


class Address(pydantic.BaseModel):
    city: str
    zip: str | None = None


class Person(pydantic.BaseModel):
    name: str
    born: dt.date
    tags: set[str] = set()
    address: Address | None = None
    score: Decimal = Decimal("0")


people = st.builds(
    Person,
    name=st.text(max_size=10),
    born=st.dates(),
    tags=st.sets(st.text(max_size=5), max_size=3),
    address=st.none() | st.builds(Address, city=st.text(max_size=5)),
    score=st.decimals(allow_nan=False, allow_infinity=False, places=3),
)


@settings(deadline=None)  # timing varies with the machine's load, not the code
@given(st.lists(people, max_size=3))
def test_pydantic_models_round_trip_by_class_path(value: list[Person]) -> None:
    back = round_trip(value)
    assert back == value
    assert all(type(p) is Person and type(p.born) is dt.date for p in back)
    assert blob_round_trip(value) == value


def test_pydantic_models_are_validated_on_load() -> None:
    encoded = serialize(Person(name="Ada", born=dt.date(1815, 12, 10)))
    assert encoded.data["c"] == f"{__name__}:Person"
    tampered = msgspec.structs.replace(
        encoded, data={**encoded.data, "v": {**encoded.data["v"], "born": "not a date"}}
    )
    with pytest.raises(pydantic.ValidationError):
        deserialize(tampered)
