"""NUL is refused in names, ids and paths at the edge, and kept in data."""

from __future__ import annotations

import pytest

from coflux import protocol


def frame(*messages: protocol.Record) -> bytes:
    return protocol.encode_frame(list(messages))


@pytest.mark.parametrize(
    "message",
    [
        protocol.Hello(protocol_version=4, project="p", environment="e", session_id="s\x00"),
        protocol.Hello(protocol_version=4, project="p", environment="e", provides={"g\x00": ()}),
        protocol.Hello(
            protocol_version=4, project="p", environment="e", provides={"g": ("a\x00",)}
        ),
        protocol.Declare(targets={"repo": ("t\x00",)}),
        protocol.GetResult(1, "r1:1:1\x00", from_execution_id="r1:1:1"),
    ],
)
def test_a_nul_in_a_name_is_a_protocol_error(message: protocol.Record) -> None:
    with pytest.raises(protocol.ProtocolError, match="NUL"):
        protocol.decode_agent_frame(frame(message))


def test_data_may_hold_nul() -> None:
    value = protocol.Value("json", {"k\x00": "v\x00"})
    entry = protocol.LogEntry("r1:1:1", 1.0, "info", "a\x00b", {"x": value})
    logs = protocol.Logs((entry,))
    error = protocol.ErrorInfo("builtins.ValueError", "bad \x00", "trace \x00")
    complete = protocol.Complete("r1:1:1", protocol.Failed(error))
    decoded = protocol.decode_agent_frame(frame(logs, complete))
    assert decoded == [logs, complete]


def test_the_error_names_the_field() -> None:
    hello = protocol.Hello(protocol_version=4, project="p", environment="e", session_id="s\x00")
    with pytest.raises(protocol.ProtocolError, match="session_id"):
        protocol.decode_agent_frame(frame(hello))
