"""Response records of the HTTP API that are not views.

The views (``RunView``, ``LogView``, ...) are in ``coflux.views``, because the
store builds them too; the small envelopes below exist only on the wire, so
the client owns their types.
"""

from __future__ import annotations

import msgspec

from coflux import protocol
from coflux.views import LogView


class Response(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the envelopes; unknown fields are ignored so newer servers still decode."""


class Submission(Response, frozen=True, kw_only=True):
    run_id: str
    created: bool = True


class RunResult(Response, frozen=True, kw_only=True):
    """A run's state and, once it has ended, its outcome."""

    run_id: str
    state: str
    outcome: protocol.Outcome | None = None


class LogPage(Response, frozen=True, kw_only=True):
    logs: list[LogView]
    cursor: int | None = None


class Cancelled(Response, frozen=True, kw_only=True):
    cancelled: list[str]


class RerunStarted(Response, frozen=True, kw_only=True):
    execution_id: str


class Registered(Response, frozen=True, kw_only=True):
    repositories: list[str]


class ErrorBody(Response, frozen=True, kw_only=True):
    reason: str
    message: str


class ErrorEnvelope(Response, frozen=True, kw_only=True):
    error: ErrorBody
