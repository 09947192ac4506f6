"""Which agent connection carries each session, so the actor can send to sessions.

Sending never blocks the actor: each connection has an unbounded outbox drained
by its own writer task. A message for a session with no connection is dropped;
the agent asks again for anything it still needs when it resumes the session.
"""

from __future__ import annotations

import asyncio
import logging

from coflux import protocol

logger = logging.getLogger(__name__)


class Outbox:
    """The queue of messages waiting to be written to one agent connection."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[protocol.ServerMessage | None] = asyncio.Queue()

    def put(self, message: protocol.ServerMessage) -> None:
        self.queue.put_nowait(message)

    def close(self) -> None:
        self.queue.put_nowait(None)


class SessionRegistry:
    def __init__(self) -> None:
        self._outboxes: dict[tuple[str, str], Outbox] = {}  # (project, session) -> outbox

    def bind(self, project_id: str, session_id: str, outbox: Outbox) -> None:
        previous = self._outboxes.get((project_id, session_id))
        if previous is not None and previous is not outbox:
            previous.close()  # a newer connection replaces an older one
        self._outboxes[(project_id, session_id)] = outbox

    def unbind(self, project_id: str, session_id: str, outbox: Outbox) -> None:
        if self._outboxes.get((project_id, session_id)) is outbox:
            del self._outboxes[(project_id, session_id)]

    def send(self, project_id: str, session_id: str, message: protocol.ServerMessage) -> None:
        outbox = self._outboxes.get((project_id, session_id))
        if outbox is None:
            logger.debug(
                "session %s is not connected; dropped %s", session_id, type(message).__name__
            )
            return
        outbox.put(message)
