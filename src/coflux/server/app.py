"""The server application: one route table, readable on one screen."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.types import Scope

from coflux import protocol
from coflux.blobs import open_blob_store
from coflux.errors import CofluxError, ProjectOwnedElsewhere, ProjectUnavailable
from coflux.log_lines import MINIMUM_LEVELS
from coflux.orchestration.effects import Fact
from coflux.orchestration.model import ProjectState
from coflux.server.api import (
    activity,
    agents,
    assets,
    environments,
    inputs,
    projects,
    runs,
    sensors,
    servers,
    tokens,
)
from coflux.server.api import blobs as blob_api
from coflux.server.auth import Authenticator, AuthMiddleware
from coflux.server.context import ServerContext
from coflux.server.forwarding import Forwarding
from coflux.server.gateway import agent_endpoint
from coflux.server.health import Readiness, health, ready
from coflux.server.live import live_endpoint
from coflux.server.metrics import MeasuredTraffic, Metrics
from coflux.server.openapi import build_openapi
from coflux.server.projects import Projects
from coflux.server.routes import ApiRoute, Query, endpoint, error_response
from coflux.server.sessions import SessionRegistry
from coflux.server.tokens import open_token_store
from coflux.server.topics import Topics
from coflux.server.tracing import open_tracing
from coflux.store.base import DEFAULT_LEASE_TTL
from coflux.store.catalogs import open_catalog
from coflux.views import (
    AuthView,
    CancelResult,
    EnvironmentView,
    InputList,
    InputView,
    LogPage,
    MetricPointPage,
    MetricView,
    ProjectActivity,
    ProjectInfo,
    Registered,
    RerunStarted,
    RunAssets,
    RunListed,
    RunOutline,
    RunResult,
    RunSubmitted,
    RunView,
    ServersView,
    TokenCreated,
    TokenView,
)

P = "/api/projects/{project}"
E = P + "/environments/{environment}"
R = P + "/runs/{run_id}"
WAIT = Query("wait", float, "seconds to wait for an answer (at most 60)")
_TEXT = {"type": "string", "minLength": 1, "maxLength": protocol.MAX_NAME}
_TIME = {"type": "number", "minimum": 0, "maximum": protocol.MAX_TIMESTAMP}
RUN_FILTERS = (
    Query("environment", str, "environment name", _TEXT),
    Query("repository", str, "repository", _TEXT),
    Query("target", str, "target name", _TEXT),
    Query("state", str, "the run's state (repeat for any of several)",
          {"type": "array", "items": {"type": "string", "enum": list(runs.STATES)}}),
    Query("since", float, "created at or after (seconds since the epoch)", _TIME),
    Query("until", float, "created before (seconds since the epoch)", _TIME),
    Query("idempotency_key", str, "the run submitted with this key", _TEXT),
    Query("search", str, "the run's id, or text in its arguments (docs/api.md)",
          {**_TEXT, "minLength": runs.MIN_SEARCH}),
    Query("order", str, "newest (default) or oldest first", {"type": "string", "enum": list(runs.ORDERS)}),
    Query("after", str, "cursor: a listed run's (the previous page's last)", _TEXT),
    Query("limit", int, "at most this many (default 100)",
          {"type": "integer", "minimum": 1, "maximum": runs.MAX_RUNS}),
)  # fmt: skip

API: list[ApiRoute] = [
    ApiRoute("GET", "/api/auth", tokens.get_auth, "Whether a token is needed, and what the caller's opens", response=AuthView),
    ApiRoute("POST", "/api/tokens", tokens.create_token, "Create a project token (admin)", tokens.CreateToken, TokenCreated, 201),
    ApiRoute("GET", "/api/tokens", tokens.list_tokens, "List project tokens (admin)", response=list[TokenView]),
    ApiRoute("POST", "/api/tokens/{token_id}/revoke", tokens.revoke_token, "Revoke a project token (admin)", response=TokenView),
    ApiRoute("GET", "/api/servers", servers.list_servers, "List the servers and the projects each owns (admin)", response=ServersView),
    ApiRoute("GET", "/api/projects", projects.list_projects, "List projects", response=list[ProjectInfo]),
    ApiRoute("POST", "/api/projects", projects.create_project, "Create a project", projects.CreateProject, ProjectInfo, 201),
    ApiRoute("GET", P + "/environments", environments.list_environments, "List environments", response=list[EnvironmentView]),
    ApiRoute("POST", P + "/environments", environments.create_environment, "Create an environment", environments.CreateEnvironment, EnvironmentView, 201),
    ApiRoute("PATCH", E, environments.update_environment, "Rename or re-base an environment", environments.UpdateEnvironment, EnvironmentView),
    ApiRoute("POST", E + "/pause", environments.pause_environment, "Pause an environment", response=EnvironmentView),
    ApiRoute("POST", E + "/resume", environments.resume_environment, "Resume an environment", response=EnvironmentView),
    ApiRoute("POST", E + "/archive", environments.archive_environment, "Archive an environment", response=EnvironmentView),
    ApiRoute("GET", E + "/manifests", environments.list_manifests, "List registered repositories", response=list[protocol.Manifest]),
    ApiRoute("POST", E + "/manifests", environments.register_manifests, "Register manifests", environments.RegisterManifests, Registered),
    ApiRoute("GET", E + "/agents", agents.list_agents, "List the agents of an environment", response=list[agents.AgentView]),
    ApiRoute("GET", P + "/activity", activity.get_activity, "Each environment's recent runs by state, newest failure and connected agents", response=ProjectActivity),
    ApiRoute("POST", P + "/runs", runs.submit_run, "Submit a workflow run", runs.SubmitRun, RunSubmitted, 201),
    ApiRoute("GET", P + "/runs", runs.list_runs, "Find runs: a page, filtered, newest (or oldest) first", response=list[RunListed], query=RUN_FILTERS),
    ApiRoute("POST", P + "/sensors", sensors.start_sensor, "Start a sensor (kept running by the server)", sensors.StartSensor, sensors.SensorStarted, 201),
    ApiRoute("GET", P + "/sensors", sensors.list_sensors, "List running sensors", response=list[sensors.SensorView], query=(Query("environment", str, "environment name"),)),
    ApiRoute("POST", P + "/sensors/{sensor_id}/stop", sensors.stop_sensor, "Stop a sensor", response=sensors.SensorStopped),
    ApiRoute("GET", R, runs.get_run, "Inspect a run: steps, executions, values, transitions", response=RunView),
    ApiRoute("GET", R + "/outline", runs.get_run_outline, "A run's call tree: steps, executions, states, times", response=RunOutline, query=(
        Query("previews", str, "1: with each step's arguments and each execution's result or error, cut short (coflux.previews)", {"type": "string", "enum": ["1", "true", "0", "false"]}),
    )),
    ApiRoute("GET", R + "/result", runs.get_result, "A run's outcome, optionally waiting for it", response=RunResult, query=(WAIT,)),
    ApiRoute("GET", R + "/logs", runs.get_logs, "A run's logs after a cursor, optionally waiting and filtered", response=LogPage, query=(
        Query("execution", str, "only this execution"), Query("after", int, "cursor: the last log id seen"), WAIT,
        Query("q", str, "only lines whose message holds this text, ignoring case", _TEXT),
        Query("level", str, "only lines at this level or above", {"type": "string", "enum": list(MINIMUM_LEVELS)}))),
    ApiRoute("GET", R + "/metrics", runs.get_metrics, "A run's metrics: definitions, point counts, latest points", response=list[MetricView], query=(
        Query("execution", str, "only this execution"),)),
    ApiRoute("GET", R + "/metrics/points", runs.get_metric_points, "A run's metric points after a cursor, optionally waiting", response=MetricPointPage, query=(
        Query("execution", str, "only this execution"), Query("after", int, "cursor: the last point id seen"), WAIT)),
    ApiRoute("POST", P + "/steps/{step_id}/rerun", runs.rerun_step, "Re-run a step (in its run's environment or one based on it)", runs.Rerun, RerunStarted, 201),
    ApiRoute("POST", R + "/cancel", runs.cancel_run, "Cancel a run", response=CancelResult),
    ApiRoute("GET", R + "/assets", assets.list_run_assets, "Assets persisted in a run, and restores", response=RunAssets),
    ApiRoute("GET", P + "/assets/{asset_id}", assets.get_asset, "An asset and its files", response=protocol.AssetInfo),
    ApiRoute("POST", P + "/executions/{execution_id}/cancel", runs.cancel_execution, "Cancel an execution and its descendants", response=CancelResult),
    ApiRoute("GET", P + "/inputs", inputs.list_inputs, "List inputs (prompts), newest first", response=InputList, query=(
        Query("environment", str, "environment name", _TEXT), Query("run", str, "only this run's", _TEXT),
        Query("status", str, "pending (default), responded, dismissed or all", {"type": "string", "enum": list(inputs.STATUS_FILTERS)}))),
    ApiRoute("GET", P + "/inputs/{input_id}", inputs.get_input, "An input: what it asks, and its answer", response=InputView),
    ApiRoute("POST", P + "/inputs/{input_id}/respond", inputs.respond_input, "Answer an input (checked against its schema)", inputs.Respond, InputView, optional_body=True),
    ApiRoute("POST", P + "/inputs/{input_id}/dismiss", inputs.dismiss_input, "Dismiss an input", response=InputView),
]  # fmt: skip


def _package_version() -> str:
    try:
        return version("coflux")
    except PackageNotFoundError:
        return "0.0.0"


@functools.cache
def _openapi() -> dict[str, Any]:
    """The OpenAPI document, made when first asked for (then kept): deriving the
    schemas of every route's types takes ~30 ms, a tenth of a server's start,
    for a document that only tools read."""
    return build_openapi(API, _package_version())


async def openapi_endpoint(request: Request) -> Response:
    return JSONResponse(_openapi())


STATIC = Path(__file__).parent / "static"
# Vite names the files under assets/ by content hash, so they can be cached forever.
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
NO_CACHE = {"Cache-Control": "no-cache"}


def _is_studio_path(path: str) -> bool:
    return not any(path == p or path.startswith(p + "/") for p in ("/api", "/blobs"))


def _is_studio_screen(path: str) -> bool:
    """Whether ``path`` (without its leading /) is one of Studio's client-side routes
    (``studio/src/router.ts``): the projects page, or anything under /projects, where
    Studio itself says what does not exist."""
    return path in ("", "projects") or path.startswith("projects/")


class StudioRoute(Route):
    """GET of any path outside /api and /blobs: one of Studio's files, or the app.

    Studio routes on the client (``/`` and ``/projects/...``), so each such path
    answers with the app, which then opens that screen: deep links work after a
    reload. Any other path that is not a file of the build is a JSON 404, so that
    a probe of a path the server does not have (``/healthz``) never sees a 200.
    API and blob paths never reach this route, so their 404/405 stay JSON.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or not _is_studio_path(scope["path"]):
            return Match.NONE, {}
        return super().matches(scope)


def _static_file(path: str) -> Path | None:
    """The built file at ``path``, or None; nothing outside the static directory."""
    if not path or "\x00" in path:
        return None
    root = STATIC.resolve()
    try:
        candidate = (root / path).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
    except OSError:  # a name the file system refuses (too long, ...): no such file
        return None
    return candidate


async def studio(request: Request) -> Response:
    path: str = request.path_params.get("path", "")
    # No file of the build and no Studio screen has a name past what a file system
    # allows (255 bytes a name; the whole far below PATH_MAX), so that is a 404.
    encoded = path.encode("utf-8", "surrogatepass")
    if len(encoded) > 1024 or any(len(name) > 255 for name in encoded.split(b"/")):
        return error_response(404, "not_found", "no such file: the path is too long")
    file = _static_file(path)
    if file is not None:
        headers = IMMUTABLE if path.startswith("assets/") else NO_CACHE
        return FileResponse(file, headers=headers)
    if not _is_studio_screen(path):
        # A missing build file too (the app's HTML would not parse as JS or CSS).
        return error_response(404, "not_found", f"no such file or page: /{path}")
    index = STATIC / "index.html"
    if not index.exists():
        return HTMLResponse(
            "<!doctype html><title>Coflux</title><h1>Coflux</h1>"
            "<p>The server is running. Studio (the web UI) is not built in this install: "
            "run <code>npm ci &amp;&amp; npm run build</code> in <code>studio/</code>.</p>"
            "<p>The API is described at <a href='/api/openapi.json'>/api/openapi.json</a>.</p>"
        )
    return HTMLResponse(index.read_text(), headers=NO_CACHE)


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(
        404, "not_found", f"no such endpoint: {request.method} {request.url.path}"
    )


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    # Starlette's own Allow header names only the first route with this path, and
    # each route here has one method: gather them from every route with the path.
    allowed: set[str] = set()
    for route in request.app.router.routes:
        if (
            isinstance(route, Route)
            and route.methods
            and route.matches(request.scope)[0] != Match.NONE
        ):
            allowed |= route.methods
    response = error_response(
        405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}"
    )
    response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def create_app(
    data_dir: Path,
    *,
    session_timeout: float,
    admin_tokens: frozenset[str],
    fsync: bool = False,
    database: str | None = None,
    blobs: str | None = None,
    address: str = "",
    lease_ttl: float = DEFAULT_LEASE_TTL,
) -> Starlette:
    """The server's application; with ``admin_tokens``, every request needs a token.

    ``database``: where the projects are kept (``coflux.store.catalogs``; None:
    SQLite files in ``data_dir``). ``blobs``: where values and asset files are
    kept (``coflux.blobs.open_blob_store``; None: files in ``data_dir``).
    ``address``: where other servers reach this one (its URL); ``lease_ttl``: how
    long it owns its projects without a heartbeat (several servers on one database).
    """
    sessions = SessionRegistry()
    topics = Topics()
    metrics = Metrics()
    catalog = metrics.measured(
        open_catalog(database, data_dir, fsync=fsync, address=address, lease_ttl=lease_ttl)
    )

    tracing = open_tracing()  # None unless OTEL_* asks for traces

    def publish(project_id: str, facts: Sequence[Fact]) -> None:
        metrics.observe_facts(project_id, facts)
        if tracing is not None:
            tracing.observe_facts(project_id, facts)
        topics.publish(project_id, facts)

    project_registry = Projects(
        catalog, session_timeout=session_timeout, clock=time.time,
        send=sessions.send, publish=publish, disconnect=sessions.disconnect_project,
    )  # fmt: skip
    readiness = Readiness(catalog)

    def project_name(project_id: str) -> str:
        try:
            return project_registry.get(project_id).info.name
        except CofluxError:  # unavailable: it goes by its id
            return project_id

    def serving_states() -> Iterator[tuple[str, ProjectState]]:
        for info in project_registry.list():
            with contextlib.suppress(CofluxError):
                project = project_registry.get(info.id)
                if project.failure is None:
                    yield project.info.name, project.actor.state

    metrics.watch(project_name, serving_states)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await project_registry.start()
        readiness.loaded = True
        try:
            yield
        finally:
            await project_registry.stop()
            token_store.close()
            if tracing is not None:
                tracing.close()

    routes: list[BaseRoute] = [
        # For operators and load balancers (docs/operating.md), outside the API.
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        Route("/api/openapi.json", openapi_endpoint),
    ]
    routes += [Route(r.path, endpoint(r), methods=[r.method]) for r in API]
    routes += [
        WebSocketRoute("/api/agent", agent_endpoint),
        WebSocketRoute("/api/live", live_endpoint),
        Route("/blobs/{key}", blob_api.put_blob, methods=["PUT"]),
        Route("/blobs/{key}", blob_api.get_blob, methods=["GET"]),
        # Raw content, so outside the JSON route table (see docs/api.md).
        Route(P + "/assets/{asset_id}/files/{path:path}", assets.download_file, methods=["GET"]),
        StudioRoute("/{path:path}", studio, methods=["GET", "HEAD"]),
    ]
    # Beside the projects: in their database when servers share it, else a file.
    token_store = open_token_store(data_dir, catalog.tokens())
    authenticator = Authenticator(admin_tokens, token_store)

    def project_id(id_or_name: str) -> str | None:
        try:
            return project_registry.get(id_or_name).info.id
        except (ProjectUnavailable, ProjectOwnedElsewhere) as e:
            return e.project
        except CofluxError:
            return None

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
        middleware=[
            Middleware(MeasuredTraffic, metrics=metrics),
            # Before authentication: the owner authenticates what it is forwarded.
            Middleware(Forwarding, owners=project_registry, address=address),
            Middleware(AuthMiddleware, authenticator=authenticator, project_id=project_id),
        ],
    )
    app.state.readiness = readiness
    blob_store = open_blob_store(blobs, data_dir)
    app.state.context = ServerContext(
        project_registry, sessions, topics, blob_store, authenticator, address
    )
    return app
