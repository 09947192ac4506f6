"""An agent WebSocket to the in-process app, spoken in raw ASGI messages.

Starlette's test client is not used: it is sync, runs the app in another thread
and warns under our ``filterwarnings = error``. This drives the app's ASGI
callable directly on the test's own loop, so a test can send any bytes as a
frame and see exactly how the server closes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message

# Only a hang detector: the server answers each frame at once.
HANG = 30.0


class AgentSocket:
    def __init__(
        self, app: ASGIApp, path: str = "/api/agent", headers: dict[str, str] | None = None
    ) -> None:
        self._app = app
        self._path = path
        self._headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        self.close_reason = ""

    async def __aenter__(self) -> AgentSocket:
        scope: dict[str, Any] = {
            "type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws",
            "path": self._path, "raw_path": self._path.encode(), "root_path": "",
            "query_string": b"", "headers": self._headers, "subprotocols": [],
            "server": ("test", 80), "client": ("test", 1),
        }  # fmt: skip
        self._task = asyncio.create_task(self._app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "websocket.connect"})
        accepted = await self._next()
        assert accepted["type"] == "websocket.accept", accepted
        self.accepted = accepted
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        await asyncio.wait_for(self._task, HANG)

    async def send(self, frame: bytes | str) -> None:
        key = "bytes" if isinstance(frame, bytes) else "text"
        await self._to_app.put({"type": "websocket.receive", key: frame})

    async def receive(self) -> bytes | None:
        """The server's next frame, or None once it closed the connection."""
        message = await self._next()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason") or ""
            return None
        assert message["type"] == "websocket.send", message
        return message.get("bytes") or message["text"].encode()

    async def closed(self) -> int:
        """Wait for the server to close; its close code."""
        while await self.receive() is not None:
            pass
        assert self.close_code is not None
        return self.close_code

    async def _next(self) -> Message:
        return await asyncio.wait_for(self._from_app.get(), HANG)

    def drain(self) -> list[bytes]:
        """The frames the server has sent so far, without waiting (stops at a close)."""
        frames: list[bytes] = []
        while self.close_code is None and not self._from_app.empty():
            message = self._from_app.get_nowait()
            if message["type"] == "websocket.close":
                self.close_code = message.get("code", 1000)
                self.close_reason = message.get("reason") or ""
            else:
                frames.append(message.get("bytes") or message["text"].encode())
        return frames
