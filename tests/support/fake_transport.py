"""A ``coflux.client.transport.Transport`` that answers from a function, in-process.

The function takes an ``httpx.Request`` and returns an ``httpx.Response``
(httpx's models make requests easy to inspect), so tests of the client and the
CLI script a server without starting one. The request carries the timeout the
client asked for in ``extensions["timeout"]``, as httpx would.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


class FakeResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.reason = response.reason_phrase
        self._body = io.BytesIO(response.content)

    def read(self, amt: int | None = None, /) -> bytes:
        return self._body.read(amt)


class HandlerTransport:
    def __init__(self, base_url: str, handler: Handler) -> None:
        self.base_url = base_url
        self.handler = handler

    def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> FakeResponse:
        request = httpx.Request(
            method,
            self.base_url + target,
            headers=headers,
            content=body,
            extensions={"timeout": {"connect": timeout, "read": timeout}},
        )
        return FakeResponse(self.handler(request))

    def close(self) -> None:
        pass


def transport_for(handler: Handler) -> Callable[[str], HandlerTransport]:
    """What ``Client(transport=...)`` takes: a fake transport for any base URL."""
    return lambda base_url: HandlerTransport(base_url, handler)
