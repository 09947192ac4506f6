"""Requests for a project that another server owns, passed on to that server.

With several servers on one database (``store/postgres/leases.py``) a client may
talk to any of them. An HTTP request under ``/api/projects/{project}/`` for a
project owned elsewhere is forwarded to the owner's address (read from its lease
for each request, so it is never stale) and the owner's answer streamed back as
it comes, long-polls included (while a takeover leaves the project without an
owner for a moment, the request waits for the new one, up to ``patience``); a live
subscription is relayed message by message (``relay``); an agent is told where to
connect instead (``gateway.py``). The
owner authenticates what it receives: the request travels with its token.

A request is forwarded at most once (``coflux-forwarded`` names the server that
forwarded it): if ownership moved meanwhile, the second server answers with its
own 503 and the client retries, so two servers that disagree for a moment about
the owner never pass a request back and forth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import TYPE_CHECKING, Protocol

import websockets
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

FORWARDED = "coflux-forwarded"
_PROJECT_PATH = re.compile(r"^/api/projects/([^/]+)(?:/|$)")
# Headers of one connection, not of the request (RFC 9110, section 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "host",
    }
)  # fmt: skip


class Owners(Protocol):
    """Where projects are served (``server/projects.py``)."""

    def is_elsewhere(self, id_or_name: str) -> bool:
        """Whether another server owns (or is taking over) the project."""
        ...

    async def owner_of(self, id_or_name: str, wait: float = 0.0) -> str | None:
        """The owner's address, when another server owns it now (waiting up to
        ``wait`` seconds for a takeover to give it one); else None."""
        ...

    @property
    def patience(self) -> float:
        """Seconds to wait for a project to have an owner (a takeover) before
        answering that it has none."""
        ...


MAX_FORWARDED_BODY = 16 * 1024 * 1024  # project API bodies are small JSON documents


class Forwarding:
    """ASGI middleware: forward HTTP requests for projects owned elsewhere."""

    def __init__(self, app: ASGIApp, owners: Owners, address: str) -> None:
        self.app = app
        self._owners = owners
        self._address = address
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PROJECT_PATH.match(scope["path"]) if scope["type"] == "http" else None
        forwarded = any(name == FORWARDED.encode() for name, _ in scope.get("headers", ()))
        if match is None or forwarded or not self._owners.is_elsewhere(match.group(1)):
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        if body is None:
            await _answer(send, 413, "body_too_large", "the request body is too large")
            return
        # While a takeover or a hand-over is under way the project has no owner for
        # a moment (or a dead one): wait for one rather than answer 503 at once.
        project = match.group(1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._owners.patience
        while (owner := await self._owners.owner_of(project, deadline - loop.time())) is not None:
            if await self._forward(owner, scope, body, send):
                return
            if loop.time() >= deadline:
                break
            await asyncio.sleep(0.2)  # the owner is gone: wait for the one taking over
        # Served here now, or no owner in time: answered here (503 without one).
        await self.app(scope, _replaying(body), send)

    async def _forward(self, owner: str, scope: Scope, body: bytes, send: Send) -> bool:
        """Pass the request to ``owner`` and stream its answer back; False if the
        owner could not be reached (then nothing was sent to the client)."""
        # Imported at the first request to forward, not with the server: httpx (with
        # what it loads) was ~50 ms of every server's start, and one server alone
        # never forwards.
        import httpx

        if self._client is None:
            # No timeout for the answer: a long-poll waits as long as the owner does.
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=5.0))
        query = scope.get("query_string", b"").decode("latin-1")
        url = owner.rstrip("/") + scope["path"] + (f"?{query}" if query else "")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name.decode("latin-1").lower() not in _HOP_BY_HOP
        ]
        headers.append((FORWARDED, self._address))
        request = self._client.build_request(scope["method"], url, headers=headers, content=body)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as e:
            logger.warning("cannot forward %s %s to %s: %s", scope["method"], url, owner, e)
            return False
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (name.encode("latin-1"), value.encode("latin-1"))
                        for name, value in response.headers.multi_items()
                        if name.lower() not in _HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
        return True


async def _body(receive: Receive) -> bytes | None:
    """The whole request body (it may be sent to a second owner); None past
    ``MAX_FORWARDED_BODY``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORWARDED_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    """A ``receive`` that gives the app the body read already."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _answer(send: Send, status: int, reason: str, message: str) -> None:
    body = json.dumps({"error": {"reason": reason, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def relay(websocket: WebSocket, owner: str, first: str, address: str) -> None:
    """Relay an accepted live subscription to the owner's ``/api/live``: ``first``
    (the subscription message) and everything after, both ways, until either side
    leaves. ``address`` is this server's (the owner relays nothing further)."""
    url = re.sub(r"^http", "ws", owner.rstrip("/")) + "/api/live"
    headers = {
        name: value
        for name, value in websocket.headers.items()
        if name.lower() in ("authorization", "cookie")
    }
    headers[FORWARDED] = address
    try:
        async with websockets.connect(url, additional_headers=headers, proxy=None) as upstream:
            await upstream.send(first)

            async def down() -> None:
                async for message in upstream:
                    if isinstance(message, bytes):
                        await websocket.send_bytes(message)
                    else:
                        await websocket.send_text(message)

            async def up() -> None:
                with contextlib.suppress(WebSocketDisconnect):
                    while True:
                        received = await websocket.receive()
                        if received["type"] == "websocket.disconnect":
                            return
                        await upstream.send(received.get("text") or received.get("bytes") or "")

            tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
            _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    except (OSError, websockets.WebSocketException) as e:
        logger.warning("cannot relay a live subscription to %s: %s", owner, e)
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(1012, "the project's server went away; reconnect")
