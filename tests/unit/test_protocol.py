"""Frames on the agent WebSocket: one message, or an array of messages."""

from __future__ import annotations

import asyncio

import pytest

from coflux import protocol
from coflux.server.sessions import Outbox


def test_a_frame_of_one_message_is_the_message_itself() -> None:
    ack = protocol.Ack(("r:1:1",))
    assert protocol.encode_frame([ack]) == protocol.encode_json(ack)
    assert protocol.decode_server_frame(protocol.encode_frame([ack])) == [ack]


def test_a_frame_of_several_messages_keeps_their_order() -> None:
    messages = [protocol.Ack((f"r:{i}:1",)) for i in range(3)]
    assert protocol.decode_server_frame(protocol.encode_frame(messages)) == messages
    declare = protocol.Declare(targets={"repo": ("a",)})
    cancel = protocol.CancelExecution(execution_id="r:1:1", from_execution_id="r:0:1")
    frame = protocol.encode_frame([declare, cancel])
    assert protocol.decode_agent_frame(frame) == [declare, cancel]


@pytest.mark.parametrize(
    "frame", [b"[]", b"{", b"[{}]", b'[{"tag": "ack", "execution_ids": []}, 5]', b"7"]
)
def test_bad_frames_are_protocol_errors(frame: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_server_frame(frame)


def test_a_server_message_is_not_an_agent_frame() -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_agent_frame(protocol.encode_frame([protocol.Ack(("r:1:1",))]))


async def test_the_outbox_hands_over_everything_queued_in_order() -> None:
    outbox = Outbox()
    acks = [protocol.Ack((f"r:{i}:1",)) for i in range(protocol.MAX_FRAME_MESSAGES + 5)]
    for ack in acks:
        outbox.put(ack)
    first = await outbox.take()
    second = await outbox.take()
    assert first + second == acks and len(first) == protocol.MAX_FRAME_MESSAGES
    assert outbox.empty
    waiting = asyncio.ensure_future(outbox.take())
    await asyncio.sleep(0)
    assert not waiting.done()  # nothing queued: the writer waits
    outbox.put(acks[0])
    assert await waiting == [acks[0]]


async def test_a_resumed_session_s_welcome_goes_before_what_was_queued_for_it() -> None:
    # Bound before the session is opened, the outbox can receive a result for it
    # from another batch; the agent reads the Welcome first.
    outbox = Outbox()
    result = protocol.ResultReady(
        1, "r:2:1", protocol.Succeeded(protocol.Value(format="json", data=1))
    )
    welcome = protocol.Welcome("s1", True)
    assigned = protocol.Ack(("r:3:1",))
    for message in (result, welcome, assigned):
        outbox.put(message)
    outbox.put_first(welcome)
    assert await outbox.take() == [welcome, result, assigned]
    outbox.put_first(welcome)  # no longer queued: nothing to move
    assert outbox.empty


async def test_a_closed_outbox_hands_over_what_it_had_and_takes_no_more() -> None:
    outbox = Outbox()
    outbox.put(protocol.Ack(("r:1:1",)))
    outbox.close()
    outbox.put(protocol.Ack(("r:2:1",)))
    assert await outbox.take() == [protocol.Ack(("r:1:1",))]
    assert outbox.closed and outbox.empty
    assert await outbox.take() == []  # returns at once: the writer then closes
