"""Who is asking, and what they may do: one middleware in front of every route.

A server started without an admin token is open: every request acts as admin
(the single-user default). Once it has one (``--token-file``,
``COFLUX_SERVER_TOKEN``, ``--token``), every request must carry a token, as
``Authorization: Bearer <token>`` or, from a browser's WebSocket (which cannot
set headers), as the subprotocol ``coflux.token.<base64url of the token>``:

* an admin token may do everything, including managing projects and tokens;
* a project token (``coflux tokens create``) may act only in its project,
  optionally only in some of its environments, and optionally only read.

``AuthMiddleware`` authenticates every HTTP request and WebSocket before any
route sees it, refuses what the path alone rules out (another project, a write
with a read-only token, an admin route), and leaves the ``Principal`` in the
request's state. What the path does not say (the environment of a run, the
project of an agent's hello) is checked against the same ``Principal`` where it
becomes known: ``coflux.server.routes`` for the HTTP routes, by the kind of their
path parameters, and the two WebSocket endpoints after their first message.
Only Studio's files, ``/api/openapi.json``, ``/api/auth`` and the probes
``/health`` and ``/ready`` need no token; ``/metrics`` (outside /api too) checks
for the admin token itself (``coflux.server.metrics``).

A project token that cannot be checked now (``TokenStore.check``: the tokens shared
through the database cannot be read) makes the request unavailable (503, or close
code 4007 for a WebSocket): it is never let through.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coflux import protocol
from coflux.errors import Refused, Unavailable
from coflux.server.tokens import TokenStore
from coflux.store.base import TokenRecord
from coflux.views import ErrorBody, ErrorDetail

SUBPROTOCOL = "coflux"  # what the server accepts when a browser offers a token subprotocol
TOKEN_SUBPROTOCOL = "coflux.token."
PUBLIC_PATHS = frozenset({"/api/openapi.json", "/api/auth"})
_PROJECT_PATH = re.compile(r"/api/projects/([^/]+)(?:/environments/([^/]+))?")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Unauthorised(Refused):
    """No token, or one that is not (or no longer) valid."""

    status = 401


class Forbidden(Refused):
    """A valid token that does not allow this."""

    status = 403


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: an admin, or the holder of one project token."""

    admin: bool
    token: TokenRecord | None = None  # the project token, unless admin

    def may(self, project: str, environment: str | None = None, write: bool = False) -> bool:
        """Whether this principal may read (or write) in a project, given by id, or in
        one of its environments, given by name."""
        if self.admin:
            return True
        token = self.token
        if token is None:
            return False
        if project != token.project or (write and token.read_only):
            return False
        return (
            environment is None or token.environments is None or environment in token.environments
        )

    def require(
        self,
        project: str,
        environment: str | None = None,
        write: bool = False,
        label: str | None = None,
    ) -> None:
        """``label``: the project as the request named it (its id, by default).

        Raises:
            Unauthorised: there is no valid token at all.
            Forbidden: this principal may not do that (in that project or environment).
        """
        if self.may(project, environment, write):
            return
        token = self.token
        if token is None:
            raise Unauthorised("unauthorised", "a valid token is required")
        if project != token.project:
            raise Forbidden(
                "forbidden", f"this token does not give access to project {label or project}"
            )
        if write and token.read_only:
            raise Forbidden("read_only", "this token may only read")
        raise Forbidden(
            "forbidden", f"this token does not give access to environment '{environment}'"
        )

    def require_admin(self) -> None:
        if self.token is None and not self.admin:
            raise Unauthorised("unauthorised", "a valid token is required")
        if not self.admin:
            raise Forbidden("admin_only", "only an admin token may do this")

    def sees_project(self, project: str) -> bool:
        return self.admin or (self.token is not None and self.token.project == project)

    def sees_environment(self, environment: str) -> bool:
        token = self.token
        if self.admin:
            return True
        return token is not None and (
            token.environments is None or environment in token.environments
        )

    @property
    def environment_limited(self) -> bool:
        return self.token is not None and self.token.environments is not None


ADMIN = Principal(admin=True)
NOBODY = Principal(admin=False)  # a request to a public route without a valid token


class Authenticator:
    """Turns the token a request carries into a ``Principal``."""

    def __init__(self, admin_tokens: Iterable[str], tokens: TokenStore) -> None:
        self._admin = tuple(t for t in admin_tokens if t)
        self.tokens = tokens

    @property
    def required(self) -> bool:
        """Whether requests need a token at all (the server has an admin token)."""
        return bool(self._admin)

    async def principal(self, token: str | None) -> Principal | None:
        """Who ``token`` acts as; None if it opens nothing. Every admin token is
        compared, in constant time, whatever the outcome.

        Raises:
            Unavailable: a project token could not be checked (``TokenStore.check``).
        """
        if not self.required:
            return ADMIN
        if not token:
            return None
        matched = False
        for known in self._admin:
            matched |= hmac.compare_digest(token.encode(), known.encode())
        if matched:
            return ADMIN
        record = await self.tokens.check(token)
        return Principal(admin=False, token=record) if record is not None else None


def token_of(scope: Scope) -> str | None:
    """The token a request carries: a bearer header, or a browser's subprotocol."""
    headers = Headers(scope=scope)
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scope["type"] == "websocket":
        for offered in _subprotocols(headers):
            if offered.startswith(TOKEN_SUBPROTOCOL):
                encoded = offered[len(TOKEN_SUBPROTOCOL) :]
                try:
                    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
                except (binascii.Error, UnicodeDecodeError, ValueError):
                    return None
    return None


def _subprotocols(headers: Headers) -> list[str]:
    return [
        item.strip()
        for line in headers.getlist("sec-websocket-protocol")
        for item in line.split(",")
        if item.strip()
    ]


def path_scope(path: str) -> tuple[str, str | None] | None:
    """The project (and environment) that an API path names, if any."""
    found = _PROJECT_PATH.match(path)
    if found is None:
        return None
    return found.group(1), found.group(2)


def _is_admin_path(path: str, method: str) -> bool:
    return (
        path.startswith("/api/tokens")
        or path == "/api/servers"
        or (path == "/api/projects" and method == "POST")
    )


def _needs_token(path: str) -> bool:
    if path in PUBLIC_PATHS:
        return False
    return any(path == p or path.startswith(p + "/") for p in ("/api", "/blobs"))


ProjectResolver = Callable[[str], "str | None"]  # a project's id or name -> its id


def authorise_path(
    principal: Principal, method: str, path: str, project_id: ProjectResolver
) -> None:
    """What the path alone rules out for this principal.

    Raises:
        Forbidden: another project, a write with a read-only token, an admin route.
    """
    if principal.admin:
        return
    if _is_admin_path(path, method):
        principal.require_admin()
    write = method not in READ_METHODS
    scoped = path_scope(path)
    if scoped is not None:
        # An unknown project is refused like another one: a token learns nothing of it.
        principal.require(project_id(scoped[0]) or scoped[0], scoped[1], write, scoped[0])
    elif write:
        # Outside a project: blob uploads need a token that may write somewhere.
        token = principal.token
        if token is not None and token.read_only:
            raise Forbidden("read_only", "this token may only read")


_encoder = msgspec.json.Encoder()


class AuthMiddleware:
    """Authenticates every request; see the module's docstring."""

    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, project_id: ProjectResolver
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.project_id = project_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["type"] == "websocket":
            send = _choosing_subprotocol(scope, send)
        try:
            principal = await self.authenticator.principal(token_of(scope))
        except Unavailable as e:  # never let through a token that might be revoked
            await _refuse(scope, receive, send, e)
            return
        scope.setdefault("state", {})["principal"] = principal
        if not _needs_token(path):
            await self.app(scope, receive, send)
            return
        try:
            if principal is None:
                raise Unauthorised("unauthorised", "a valid token is required")
            authorise_path(principal, scope.get("method", "GET"), path, self.project_id)
        except Refused as e:
            await _refuse(scope, receive, send, e)
            return
        await self.app(scope, receive, send)


def _choosing_subprotocol(scope: Scope, send: Send) -> Send:
    """Accept a browser's WebSocket with the ``coflux`` subprotocol when it offered
    one (a browser drops a connection whose accept names none it offered)."""
    offered = _subprotocols(Headers(scope=scope))
    if SUBPROTOCOL not in offered:
        return send

    async def choose(message: Message) -> None:
        if message["type"] == "websocket.accept" and not message.get("subprotocol"):
            message = {**message, "subprotocol": SUBPROTOCOL}
        await send(message)

    return choose


async def _refuse(scope: Scope, receive: Receive, send: Send, error: Refused) -> None:
    body = _encoder.encode(ErrorBody(error=ErrorDetail(reason=error.reason, message=error.message)))
    if scope["type"] == "http":
        await send(
            {
                "type": "http.response.start",
                "status": error.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    # A WebSocket is accepted and then closed with a code, so that an agent (or a
    # browser) learns why, where a refused handshake would only say 403.
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    if scope["path"] == "/api/live":  # live clients read errors as a JSON message
        await send({"type": "websocket.send", "bytes": body})
    # An agent gives up on "unauthorised", and reconnects later after "unavailable".
    unavailable = isinstance(error, Unavailable)
    await send(
        {
            "type": "websocket.close",
            "code": protocol.CLOSE_UNAVAILABLE if unavailable else protocol.CLOSE_UNAUTHORISED,
            "reason": error.message.encode()[:123].decode(errors="ignore"),
        }
    )
