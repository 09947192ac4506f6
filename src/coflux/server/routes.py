"""How an API route is declared and served.

A route names its method, path, request type and response type; ``endpoint``
turns it into a Starlette endpoint that decodes the body into the request type
(refusing malformed or oversized bodies with a 4xx that names the problem),
checks the caller's environment limits, calls the handler and encodes its typed
answer. The same declarations produce the OpenAPI document, so the two cannot
drift apart.

The token was checked before the route was reached (``coflux.server.auth``), as
far as the path tells: the project, read or write. An environment-limited token
is checked here against what the path and body name: the environment in the
body or the query, and the environment of the run, step, execution, sensor or
asset that a path parameter names, so no handler has to remember to.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from coflux import protocol
from coflux.errors import BadRequest, CofluxError, Refused
from coflux.server.auth import NOBODY, READ_METHODS, Principal
from coflux.server.context import ServerContext
from coflux.views import ErrorBody, ErrorDetail

logger = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024

Handler = Callable[["Call"], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Query:
    """A query parameter a route accepts (documented in OpenAPI). ``schema``, if
    given, is its OpenAPI schema instead of the one ``type`` makes: its bounds, its
    choices, or a list (a parameter that may be repeated)."""

    name: str
    type: type
    description: str
    schema: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ApiRoute:
    method: str
    path: str
    handler: Handler
    summary: str
    request: type | None = None
    response: Any = None
    status: int = 200
    query: tuple[Query, ...] = ()
    # An empty body stands for ``request()`` (its defaults): for a body that is optional.
    optional_body: bool = False


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler receives: the context, the decoded body, the URL's parts,
    and who is asking."""

    context: ServerContext
    body: Any
    path: dict[str, str]
    request: Request
    principal: Principal

    def query_str(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def query_all(self, name: str) -> list[str]:
        """Every value of a parameter that may be repeated (``state=a&state=b``)."""
        return self.request.query_params.getlist(name)

    def query_float(self, name: str, default: float, maximum: float) -> float:
        raw = self.request.query_params.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise BadRequest("invalid_query", f"'{name}' must be a number, not {raw!r}") from None
        if not 0 <= value <= maximum:
            raise BadRequest("invalid_query", f"'{name}' must be between 0 and {maximum}")
        return value

    def query_flag(self, name: str) -> bool:
        """A yes/no parameter: ``1`` or ``true``, ``0`` or ``false`` (absent: no)."""
        raw = self.request.query_params.get(name)
        if raw is None or raw in ("0", "false"):
            return False
        if raw in ("1", "true"):
            return True
        raise BadRequest("invalid_query", f"'{name}' must be 1, true, 0 or false, not {raw!r}")

    def query_int(self, name: str, default: int, maximum: int) -> int:
        value = self.query_float(name, default, maximum)
        if value != int(value):
            raise BadRequest("invalid_query", f"'{name}' must be a whole number")
        return int(value)


_encoder = msgspec.json.Encoder()


def error_response(status: int, reason: str, message: str) -> Response:
    body = _encoder.encode(ErrorBody(error=ErrorDetail(reason=reason, message=message)))
    return Response(body, status_code=status, media_type="application/json")


async def _read_body(request: Request, request_type: type, optional: bool = False) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise BadRequest("body_too_large", f"the request body exceeds {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequest("body_too_large", f"the request body exceeds {MAX_BODY} bytes")
        chunks.append(chunk)
    try:
        raw = b"".join(chunks)
        if optional and not raw.strip():
            return request_type()
        body: Any = msgspec.json.decode(raw, type=request_type)
        # The value trees inside: deeper ones would fail wherever they are walked.
        if protocol.could_nest_past(raw, protocol.MAX_VALUE_DEPTH):
            protocol.check_depth(body)
    except msgspec.ValidationError as e:
        raise BadRequest("invalid_body", f"invalid request body: {e}") from None
    except msgspec.DecodeError as e:
        raise BadRequest("invalid_json", f"the request body is not valid JSON: {e}") from None
    except (RecursionError, protocol.ProtocolError):
        # msgspec counts its nesting against Python's recursion limit.
        message = f"the request body is nested more than {protocol.MAX_VALUE_DEPTH} levels deep"
        raise BadRequest("too_deep", message) from None
    try:
        protocol.check_text(body, raw)
    except protocol.ProtocolError as e:
        raise BadRequest("invalid_body", f"invalid request body: {e}") from None
    return body


# Path parameters that name something of one environment (a sensor by its run).
RESOURCE_PARAMETERS = (
    "run_id", "sensor_id", "step_id", "execution_id", "asset_id", "input_id",
)  # fmt: skip


async def _check_environments(call: Call) -> None:
    """Raises:
    Forbidden: an environment-limited token names an environment it does not
        cover, or something of one."""
    principal = call.principal
    project = call.path.get("project")
    if not principal.environment_limited or project is None:
        return
    write = call.request.method not in READ_METHODS
    named = [getattr(call.body, "environment", None), call.query_str("environment")]
    owner = call.context.projects.get(project)
    project_id = owner.info.id
    for environment in named:
        if isinstance(environment, str):
            principal.require(project_id, environment, write)
    for kind in RESOURCE_PARAMETERS:
        if kind in call.path:
            environment = await owner.environment_of(kind, call.path[kind])
            if environment is not None:  # else the handler answers 404
                principal.require(project_id, environment, write)


def endpoint(route: ApiRoute) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        context: ServerContext = request.app.state.context
        # None only on the public routes (the middleware refused it elsewhere).
        principal: Principal = request.state.principal or NOBODY
        try:
            body = None
            if route.request is not None:
                body = await _read_body(request, route.request, route.optional_body)
            call = Call(context, body, dict(request.path_params), request, principal)
            await _check_environments(call)
            answer = await route.handler(call)
        except Refused as e:
            return error_response(e.status, e.reason, e.message)
        except CofluxError as e:
            return error_response(409, "conflict", str(e))
        return Response(
            _encoder.encode(answer), status_code=route.status, media_type="application/json"
        )

    serve.__name__ = route.handler.__name__
    return serve
