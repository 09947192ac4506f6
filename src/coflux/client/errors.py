"""Errors raised by the HTTP client.

Both are ``CofluxError``s so that callers (the CLI above all) can catch the
engine's whole tree in one place and print a one-line message.
"""

from __future__ import annotations

from coflux.errors import CofluxError


class ApiError(CofluxError):
    """The server answered with a 4xx or 5xx status.

    Args:
        status: the HTTP status code.
        reason: the server's machine-readable name for the problem.
        message: the server's sentence about it.
    """

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.reason}, HTTP {self.status})"


class ServerUnavailable(CofluxError):
    """The server could not be reached (refused, unresolvable, timed out)."""

    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"cannot reach the coflux server at {host}: {detail}")
        self.host = host
        self.detail = detail
