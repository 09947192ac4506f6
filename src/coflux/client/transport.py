"""How the client's requests reach the server: HTTP/1.1 over one kept-alive
connection, with the standard library's ``http.client``.

The client is what every CLI command starts, so it stays cheap to start: httpx
(with its TLS set-up at construction) cost a command ~0.1 s before its first
byte was sent, and a synchronous client making one request at a time needs
none of what it adds. TLS is set up only for an ``https://`` server.

``Transport`` is the seam: tests hand the client a fake one, the CLI and the
agent use ``HttpTransport``.
"""

from __future__ import annotations

import http.client
from typing import Protocol
from urllib.parse import urlsplit


class Response(Protocol):
    """An answer whose body is read (or streamed) by the caller."""

    status: int
    reason: str

    def read(self, amt: int | None = None, /) -> bytes: ...


class Transport(Protocol):
    def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> Response:
        """Send a request (``target``: path and query) and return its answer once
        its headers arrived; ``timeout`` bounds connecting and each read.

        Raises:
            OSError: the server could not be reached or the connection failed
                (``TimeoutError`` when it was too slow).
        """
        ...

    def close(self) -> None: ...


# A reused connection the server has closed meanwhile (its keep-alive ran out)
# fails like this before any of the answer arrived: sending again is safe.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class HttpTransport:
    """Requests to one ``http://`` or ``https://`` base URL, one at a time."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._connection: http.client.HTTPConnection | None = None
        self._last: http.client.HTTPResponse | None = None

    def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> Response:
        if self._last is not None and not self._last.isclosed():
            self.close()  # the last answer was not read to its end: the connection is unusable
        while True:
            reused = self._connection is not None  # it has carried a request before
            try:
                return self._send(method, target, headers, body, timeout)
            except BaseException as e:
                self.close()
                # Sent again once, on a new connection, only if the old one went stale.
                if not (reused and isinstance(e, _STALE)):
                    raise

    def _send(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> http.client.HTTPResponse:
        connection = self._connection or self._connect(timeout)
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        connection.timeout = timeout
        connection.request(method, self._prefix + target, body=body, headers=headers)
        self._last = connection.getresponse()
        return self._last

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            import ssl  # only a server behind TLS pays for its set-up

            context = ssl.create_default_context()
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        connection.connect()  # (http.client sets TCP_NODELAY)
        self._connection = connection
        return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = self._last = None
