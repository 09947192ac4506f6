"""Requests for a project that another server owns, passed on to that server.

With several servers on one database (``store/postgres/leases.py``) a client may
talk to any of them. An HTTP request under ``/api/projects/{project}/`` for a
project owned elsewhere is forwarded to the owner's address (read from its lease
for each request, so it is never stale) and the owner's answer streamed back as
it comes, long-polls included; a live subscription is relayed message by message
(``relay``); an agent is told where to connect instead (``gateway.py``). The
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
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import websockets
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

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


# The owner's address of a project (by id or name) owned by another server, or
# None when this server serves it, or nobody does right now.
OwnerOf = Callable[[str], Awaitable[str | None]]


class Forwarding:
    """ASGI middleware: forward HTTP requests for projects owned elsewhere."""

    def __init__(self, app: ASGIApp, owner_of: OwnerOf, address: str) -> None:
        self.app = app
        self._owner_of = owner_of
        self._address = address
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        match = _PROJECT_PATH.match(scope["path"])
        forwarded = any(name == FORWARDED.encode() for name, _ in scope["headers"])
        owner = None
        if match is not None and not forwarded:
            owner = await self._owner_of(match.group(1))
        if owner is None:
            await self.app(scope, receive, send)
            return
        await self._forward(owner, scope, receive, send)

    async def _forward(self, owner: str, scope: Scope, receive: Receive, send: Send) -> None:
        if self._client is None:
            # No timeout for the answer: a long-poll waits as long as the owner does.
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=10.0))
        query = scope.get("query_string", b"").decode("latin-1")
        url = owner.rstrip("/") + scope["path"] + (f"?{query}" if query else "")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name.decode("latin-1").lower() not in _HOP_BY_HOP
        ]
        headers.append((FORWARDED, self._address))
        request = self._client.build_request(
            scope["method"], url, headers=headers, content=_body(receive)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as e:
            logger.warning("cannot forward %s %s to %s: %s", scope["method"], url, owner, e)
            await _unavailable(
                send, f"the server that owns this project ({owner}) cannot be reached"
            )
            return
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


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _unavailable(send: Send, detail: str) -> None:
    body = json.dumps({"error": {"reason": "owner_unreachable", "message": detail}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
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
