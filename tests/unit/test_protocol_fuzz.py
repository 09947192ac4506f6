"""Hostile input to the protocol's decoders: a typed message or a ProtocolError, nothing else.

Examples per property: ``COFLUX_FUZZ_EXAMPLES`` (default 300), so the suite
stays fast while a longer hunt is one variable away.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from coflux import protocol
from tests.support.wire import json_values, wire

EXAMPLES = int(os.environ.get("COFLUX_FUZZ_EXAMPLES", "300"))
fuzz = settings(max_examples=EXAMPLES, deadline=None)

JSON_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "agent": protocol.decode_agent_frame,
    "server": protocol.decode_server_frame,
}
MSGPACK_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "executor message": protocol.decode_executor_message,
    "executor command": protocol.decode_executor_command,
}
DECODERS = {**JSON_DECODERS, **MSGPACK_DECODERS}
UNIONS: dict[str, Any] = {
    "agent": protocol.AgentMessage,
    "server": protocol.ServerMessage,
    "executor message": protocol.ExecutorMessage,
    "executor command": protocol.ExecutorCommand,
}
VALID = {name: wire(union) for name, union in UNIONS.items()}
HOSTILE = {name: wire(union, hostile=True) for name, union in UNIONS.items()}


def decodes_or_refuses(decode: Callable[[bytes], Any], data: bytes) -> Any:
    """What ``decode`` made of ``data``: messages, or None for a ProtocolError."""
    try:
        decoded = decode(data)
    except protocol.ProtocolError as e:
        assert str(e)  # a refusal names the problem
        return None
    for message in decoded if isinstance(decoded, list) else [decoded]:
        assert isinstance(message, protocol.Message)
    return decoded


def nested(depth: int, leaf: bytes = b"1") -> bytes:
    return b"[" * depth + leaf + b"]" * depth


def checkpoint(data: bytes) -> bytes:
    """An agent frame whose one value's tree is ``data`` (JSON text)."""
    return (
        b'{"tag": "checkpoint", "execution_id": "r:1:1", "arguments": [{"format": "json", "data": '
        + data
        + b"}]}"
    )


@pytest.mark.parametrize("name", DECODERS)
@fuzz
@given(data=st.binary(max_size=400))
def test_any_bytes_decode_or_are_refused_by_name(name: str, data: bytes) -> None:
    decodes_or_refuses(DECODERS[name], data)


@pytest.mark.parametrize("name", JSON_DECODERS)
@fuzz
@given(value=json_values(40))
def test_any_json_decodes_or_is_refused_by_name(name: str, value: Any) -> None:
    decodes_or_refuses(JSON_DECODERS[name], json.dumps(value).encode())


@pytest.mark.parametrize("name", UNIONS)
@fuzz
@given(data=st.data())
def test_hostile_fields_decode_or_are_refused_by_name(name: str, data: st.DataObject) -> None:
    # The right tags and shapes, with any node swapped for a wrong one.
    message = data.draw(HOSTILE[name])
    if name in JSON_DECODERS:
        encoded = msgspec.json.encode(message)
    else:
        try:
            encoded = msgspec.msgpack.encode(message)
        except OverflowError:  # msgpack has no integers past 64 bits
            reject()
    decodes_or_refuses(DECODERS[name], encoded)


@pytest.mark.parametrize("name", UNIONS)
@fuzz
@given(data=st.data())
def test_every_message_within_the_bounds_round_trips(name: str, data: st.DataObject) -> None:
    message = data.draw(VALID[name])
    if name in JSON_DECODERS:
        (decoded,) = DECODERS[name](msgspec.json.encode(message))
        assert DECODERS[name](protocol.encode_frame([decoded])) == [decoded]
    else:
        decoded = DECODERS[name](msgspec.msgpack.encode(message))
        assert DECODERS[name](protocol.encode_msgpack(decoded)) == decoded


@fuzz
@given(depth=st.integers(min_value=0, max_value=3000), leaf=st.sampled_from([b"1", b"{}", b"[]"]))
def test_values_nested_past_the_limit_are_refused(depth: int, leaf: bytes) -> None:
    frame = checkpoint(nested(depth, leaf))
    tree_depth = depth + (leaf != b"1")
    if tree_depth <= protocol.MAX_VALUE_DEPTH:
        assert decodes_or_refuses(protocol.decode_agent_frame, frame) is not None
    else:
        with pytest.raises(protocol.ProtocolError, match="nested"):
            protocol.decode_agent_frame(frame)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_frames_nested_thousands_deep_are_protocol_errors(depth: int) -> None:
    # Deeper than msgspec's own limit (Python's recursion limit): a RecursionError before.
    for frame in (nested(depth), checkpoint(nested(depth)), b'{"tag": "hello", "x": ' * depth):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode_agent_frame(frame)
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_executor_message(b"\x91" * depth + b"\x01")  # msgpack arrays of one


def test_asset_metadata_is_bounded_like_a_value() -> None:
    deep = json.loads(nested(protocol.MAX_VALUE_DEPTH))
    request = protocol.PersistAsset(1, "r:1:1", "abcdefgh", "directory", ".", (), {"m": deep})
    with pytest.raises(protocol.ProtocolError, match="nested"):
        protocol.decode_agent_frame(protocol.encode_json(request))


def test_a_frame_over_the_size_limit_is_refused_before_it_is_parsed() -> None:
    frame = checkpoint(b'"' + b"x" * protocol.MAX_FRAME_BYTES + b'"')
    with pytest.raises(protocol.ProtocolError, match="bytes"):
        protocol.decode_agent_frame(frame)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("concurrency", 2**63),  # ended the project's actor (OverflowError at the commit)
        ("concurrency", 0),
        ("concurrency", protocol.MAX_CONCURRENCY + 1),
        ("max_executors", 2**63),
        ("protocol_version", -1),
        ("protocol_version", 2**64),
        ("project", "p" * (protocol.MAX_NAME + 1)),
        ("executing", ["x" * (protocol.MAX_NAME + 1)]),
    ],
)
def test_a_hello_out_of_bounds_is_a_protocol_error(field: str, value: object) -> None:
    hello = {"tag": "hello", "protocol_version": 3, "project": "p", "environment": "e"}
    protocol.decode_agent_frame(json.dumps(hello))  # within the bounds
    with pytest.raises(protocol.ProtocolError, match=field):
        protocol.decode_agent_frame(json.dumps({**hello, field: value}))


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"tag": "submit", "request_id": 2**63, "parent_execution_id": "r:1:1", "call_index": 0,
          "repository": "m", "target": "t", "type": "task", "arguments": []}, "request_id"),
        ({"tag": "submit", "request_id": 1, "parent_execution_id": "r:1:1", "call_index": -1,
          "repository": "m", "target": "t", "type": "task", "arguments": []}, "call_index"),
        ({"tag": "get_result", "request_id": -5, "execution_id": "a", "from_execution_id": "b"},
         "request_id"),
        ({"tag": "complete", "execution_id": "r:1:1",
          "outcome": {"tag": "succeeded", "value": {"format": "json", "size": 2**63}}}, "size"),
        ({"tag": "complete", "execution_id": "r:1:1",
          "outcome": {"tag": "succeeded", "value": {"format": "json", "blob": "../../etc"}}},
         "blob"),
        ({"tag": "complete", "execution_id": "r:1:1",
          "outcome": {"tag": "suspended", "due_at": 1e300}}, "due_at"),
        ({"tag": "logs", "entries": [{"execution_id": "r:1:1", "timestamp": -1e20,
          "level": "info", "template": "x"}]}, "timestamp"),
        ({"tag": "persist_asset", "request_id": 1, "execution_id": "r:1:1", "asset_id": "a",
          "kind": "file", "path": "f", "entries": [{"path": "f", "size": 2**62, "blob": "0" * 64}]},
         "size"),
    ],
)  # fmt: skip
def test_numbers_past_their_bounds_are_protocol_errors(message: dict[str, Any], field: str) -> None:
    with pytest.raises(protocol.ProtocolError, match=field):
        protocol.decode_agent_frame(json.dumps(message))


@pytest.mark.parametrize(
    "options",
    [
        {"retries": {"limit": 2**63}},
        {"retries": {"limit": 1, "delay_min": -1.0}},
        {"delay": 1e300},
        {"delay": -1.0},
        {"cache": {"max_age": -5.0}},
        {"wait": [2**63]},
        {"memo": [-1]},
        {"defer": {"params": [protocol.MAX_PARAMETERS]}},
    ],
)
def test_target_options_past_their_bounds_are_protocol_errors(options: dict[str, Any]) -> None:
    submit = {"tag": "submit", "request_id": 1, "parent_execution_id": "r:1:1", "call_index": 0,
              "repository": "m", "target": "t", "type": "task", "arguments": []}  # fmt: skip
    protocol.decode_agent_frame(json.dumps(submit))
    with pytest.raises(protocol.ProtocolError, match="options"):
        protocol.decode_agent_frame(json.dumps({**submit, "options": options}))


def _tree(depth: int, shape: str) -> Any:
    """Data ``depth`` levels deep: lists, dicts, or the two in turn; large ones at
    every level (so msgpack writes 16-bit headers) for ``wide``."""
    tree: Any = 1
    for level in range(depth):
        kind = shape if shape != "mixed" else ("list", "dict")[level % 2]
        if kind == "wide":
            tree = {**{f"k{i}": i for i in range(20)}, "deep": [tree, *range(20)]}
        else:
            tree = [tree] if kind == "list" else {"k": tree}
    return tree


@pytest.mark.parametrize("shape", ["list", "dict", "mixed", "wide"])
@pytest.mark.parametrize("depth", [0, 1, 49, 99, 100, 101, 150])
def test_the_count_of_openings_never_spares_a_walk_that_would_refuse(
    shape: str, depth: int
) -> None:
    # The decoders skip check_depth when the document has too few openings of lists,
    # dicts and records to be nested past the limit: that must never skip a refusal.
    value = protocol.Value(format="json", data=_tree(depth, shape))
    message = protocol.Checkpoint(execution_id="r:1:1", arguments=(value,))
    for raw, msgpack in (
        (msgspec.json.encode(message), False),
        (msgspec.msgpack.encode(message), True),
    ):
        try:
            protocol.check_depth(message)
        except protocol.ProtocolError:
            assert protocol.could_nest_past(raw, protocol.MAX_VALUE_DEPTH, msgpack=msgpack)
    decode = protocol.decode_executor_message
    levels = depth * (2 if shape == "wide" else 1)
    if levels > protocol.MAX_VALUE_DEPTH:
        with pytest.raises(protocol.ProtocolError, match="nested"):
            decode(msgspec.msgpack.encode(message))
    else:
        assert decode(msgspec.msgpack.encode(message)) == message


def test_a_small_document_is_not_walked() -> None:
    raw = msgspec.msgpack.encode(protocol.Checkpoint("r:1:1", (protocol.Value("json", [[1]]),)))
    assert not protocol.could_nest_past(raw, protocol.MAX_VALUE_DEPTH, msgpack=True)
    assert not protocol.could_nest_past(raw.decode("latin-1"), 3)  # 0 of "[" or "{"
    assert protocol.could_nest_past(b"[[[[", 3) and protocol.could_nest_past("{[{[", 3)
