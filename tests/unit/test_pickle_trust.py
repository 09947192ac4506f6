"""Who may make an executor unpickle: the server's check of outside values, and a codec
with pickle turned off (``coflux agent --no-pickle``). docs/values.md, "Trust model"."""

from __future__ import annotations

import base64
import io
import json
import pickle
from typing import Any

import pytest

from coflux import protocol
from coflux.errors import BadRequest
from coflux.serialization import (
    PickleDisabledError,
    ValueCodec,
    deserialize,
    find_pickle,
    from_json,
    log_value,
    read_value_blob,
    refuse_outside_arguments,
    serialize,
)

KEY = "a" * 64


class Opaque:
    """Only pickle carries it."""

    def __eq__(self, other: object) -> bool:
        return type(other) is Opaque


def pickle_tag(obj: Any = 1) -> dict[str, Any]:
    return {"$": "pickle", "t": "x.Y", "v": base64.b64encode(pickle.dumps(obj)).decode()}


def tree(data: Any) -> protocol.Value:
    return protocol.Value(format="json", data=data)


def nested_lists(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (protocol.Value(format="pickle", data="gAROLg=="), "$"),
        (tree(pickle_tag()), "$"),
        (tree({"a": [1, pickle_tag()]}), "$.a[1]"),
        (tree({"$": "tuple", "v": [0, pickle_tag()]}), "$.v[1]"),
        (tree({"$": "dict", "v": [[{"$": "int", "v": "1"}, pickle_tag()]]}), "$.v[0][1]"),
        # Inside a leaf's payload, which the decoder never walks today: refused all the same.
        (tree({"$": "pydantic", "c": "m:C", "v": {"x": pickle_tag()}}), "$.v.x"),
        (tree(nested_lists(protocol.MAX_VALUE_DEPTH - 1, pickle_tag())), "$" + "[0]" * 99),
        (serialize({"k": Opaque()}), "$.k"),
    ],
)
def test_a_pickle_is_found_wherever_it_is(value: protocol.Value, where: str) -> None:
    assert find_pickle(value) == where


@pytest.mark.parametrize(
    "value",
    [
        tree(None),
        tree({"a": [1, "pickle", {"$": "bytes", "v": "aGk="}]}),
        serialize((1, {2}, b"x", {3: "three"})),
        # What the CLI and Studio send: a plain dict with a "$" key is escaped, so a
        # typed-in pickle tag is data, not a tag.
        from_json({"$": "pickle", "t": "x.Y", "v": pickle_tag()["v"]}),
        from_json([{"$": "pickle"}]),
    ],
)
def test_values_without_a_pickle_pass(value: protocol.Value) -> None:
    assert find_pickle(value) is None
    refuse_outside_arguments([value])


def test_the_walk_does_not_build_a_path_per_node() -> None:
    # 100 levels of a 100 KB key: a path per node would be ~500 MB of strings.
    key = "k" * 100_000
    data: Any = pickle_tag()
    for _ in range(protocol.MAX_VALUE_DEPTH - 1):
        data = {key: data}
    found = find_pickle(tree(data))
    assert found is not None and found.startswith("$." + "k" * 100) and len(found) < 20_000


def test_outside_arguments_are_refused_naming_the_argument() -> None:
    plain = tree(1)
    with pytest.raises(BadRequest) as refused:
        refuse_outside_arguments([plain, plain, tree({"a": pickle_tag()})])
    assert refused.value.reason == "pickle_refused" and refused.value.status == 400
    assert refused.value.message.startswith("arguments[2] holds a pickle at $.a:")
    with pytest.raises(BadRequest) as refused:
        refuse_outside_arguments([protocol.Value(format="pickle", data="gAROLg==")])
    assert refused.value.message.startswith("arguments[0] is a pickle:")


@pytest.mark.parametrize(
    "tagged",
    [
        {"$": "dataclass", "c": "os:system", "v": {}},
        {"$": "enum", "c": "subprocess:Popen", "n": "X", "v": "id"},
        {"$": "pydantic", "c": "m:C", "v": {}},
    ],
)
def test_outside_arguments_naming_a_class_are_refused(tagged: dict[str, Any]) -> None:
    # Decoding them would import the module they name and call into it: JSON is
    # converted to the annotated type by the executor instead.
    with pytest.raises(BadRequest) as refused:
        refuse_outside_arguments([tree([1, tagged])])
    assert refused.value.reason == "import_refused"
    assert refused.value.message.startswith(f"arguments[0] names a {tagged['$']} class")


def test_outside_arguments_by_blob_reference_are_refused() -> None:
    # The server would have to read the blob to check it; nothing outside needs to send one.
    for value in (
        protocol.Value(format="json", blob=KEY, size=300),
        protocol.Value(format="json", data=1, blob=KEY),
    ):
        with pytest.raises(BadRequest) as refused:
            refuse_outside_arguments([tree(1), value])
        assert refused.value.reason == "blob_refused"
        assert refused.value.message.startswith("arguments[1] refers to the blob store")


class MemoryBlobs:
    """Enough of ``BlobAccess`` for the codec: blobs kept in a dict."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def store(self, write: Any) -> tuple[str, int]:
        buffer = io.BytesIO()
        write(buffer)
        key = f"{len(self.blobs):064x}"
        self.blobs[key] = buffer.getvalue()
        return key, len(self.blobs[key])

    def open(self, key: str) -> io.BytesIO:
        return io.BytesIO(self.blobs[key])


def test_a_codec_without_pickle_makes_no_pickle() -> None:
    codec = ValueCodec(allow_pickle=False)
    for value in (Opaque(), [Opaque()], nested_lists(200, 1)):  # too deep is pickled otherwise
        with pytest.raises(PickleDisabledError, match=r"can only be pickled.*--no-pickle"):
            codec.dump(value)
    with pytest.raises(PickleDisabledError):
        serialize(Opaque(), allow_pickle=False)
    assert codec.dump((1, b"x")) == serialize((1, b"x"))  # the rest is as ever


@pytest.mark.parametrize("inline", [True, False])
def test_a_codec_without_pickle_loads_no_pickle(inline: bool) -> None:
    blobs = MemoryBlobs()
    maker = ValueCodec(None if inline else blobs, threshold=10)
    made = maker.dump({"point": Opaque(), "padding": "x" * 50})
    assert (made.blob is None) == inline
    assert maker.load(made) == {"point": Opaque(), "padding": "x" * 50}
    with pytest.raises(PickleDisabledError, match=r"a pickled tests\.unit\..*cannot be loaded"):
        ValueCodec(blobs, threshold=10, allow_pickle=False).load(made)


def test_nothing_without_pickle_unpickles_a_top_level_pickle_or_a_blob_segment() -> None:
    top = protocol.Value(format="pickle", data=base64.b64encode(pickle.dumps(Opaque())).decode())
    assert deserialize(top) == Opaque()
    with pytest.raises(PickleDisabledError):
        deserialize(top, allow_pickle=False)
    # A value blob whose pickle payload is a raw segment (as large values are written).
    payload = pickle.dumps(Opaque())
    data = json.dumps({"$": "pickle", "t": "x.Y", "v": 0}).encode()
    header = json.dumps({"data": len(data), "segments": [len(payload)]}).encode()
    content = b"coflux-value/1\n" + header + b"\n" + data + payload
    assert read_value_blob(io.BytesIO(content)) == Opaque()
    with pytest.raises(PickleDisabledError):
        read_value_blob(io.BytesIO(content), allow_pickle=False)


def test_log_values_without_pickle_are_logged_by_repr() -> None:
    assert log_value(Opaque()).data["$"] == "pickle"
    logged = log_value(Opaque(), allow_pickle=False)
    assert find_pickle(logged) is None and "Opaque object" in logged.data
