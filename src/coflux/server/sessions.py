"""Which agent connection carries each session, so the actor can send to sessions.

Sending never blocks the actor: each connection has an unbounded outbox drained
by its own writer task. A message for a session with no connection is dropped;
the agent asks again for anything it still needs when it resumes the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from coflux import protocol

logger = logging.getLogger(__name__)


class Outbox:
    """The messages waiting to be written to one agent connection.

    The writer takes everything queued at once (``take``), so messages that
    pile up while a frame is being written leave together in the next frame.
    """

    def __init__(self) -> None:
        self._messages: deque[protocol.ServerMessage] = deque()
        self._ready = asyncio.Event()
        self.closed = False
        # How the writer closes the connection once the outbox is closed.
        self.close_code = 1000
        self.close_reason = "replaced by a newer connection"

    def put(self, message: protocol.ServerMessage) -> None:
        if not self.closed:
            self._messages.append(message)
            self._ready.set()

    def put_first(self, message: protocol.ServerMessage) -> None:
        """Move ``message`` (queued already) to the front: the ``Welcome`` of a
        resumed session, which messages other batches sent the session while it
        was being opened must not precede (the agent reads the Welcome first)."""
        if message in self._messages:
            self._messages.remove(message)
            self._messages.appendleft(message)

    @property
    def empty(self) -> bool:
        return not self._messages

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """No more messages: the writer sends what is queued, then closes the
        connection (by default as replaced by a newer one)."""
        if code is not None and reason is not None:
            self.close_code, self.close_reason = code, reason
        self.closed = True
        self._ready.set()

    async def take(self) -> list[protocol.ServerMessage]:
        """Wait for messages (or the close); take as many as one frame may carry."""
        await self._ready.wait()
        messages = self._messages
        count = min(len(messages), protocol.MAX_FRAME_MESSAGES)
        taken = [messages.popleft() for _ in range(count)]
        if not messages and not self.closed:
            self._ready.clear()
        return taken


class SessionRegistry:
    def __init__(self) -> None:
        self._outboxes: dict[tuple[str, str], Outbox] = {}  # (project, session) -> outbox

    def bind(self, project_id: str, session_id: str, outbox: Outbox) -> None:
        previous = self._outboxes.get((project_id, session_id))
        if previous is not None and previous is not outbox:
            previous.close()  # a newer connection replaces an older one
        self._outboxes[(project_id, session_id)] = outbox

    def disconnect_project(self, project_id: str) -> None:
        """Close the connection of every session of a project that cannot serve
        now; its agents reconnect (and resume their sessions) once it can."""
        for (project, _), outbox in list(self._outboxes.items()):
            if project == project_id:
                outbox.close(protocol.CLOSE_UNAVAILABLE, "the project is unavailable; reconnect")

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
