"""The typed, synchronous HTTP client of the server's API (``docs/api.md``).

One method per route. Responses are decoded with msgspec straight into the types
the server encodes them from (``coflux.views``, ``coflux.protocol``); an error
status becomes ``ApiError`` and a
transport failure ``ServerUnavailable``, so callers never see socket errors.
Requests go through ``coflux.client.transport`` (the standard library's
``http.client``: cheap to start, which every CLI command is).

Long polls (``wait=``) get a read timeout stretched by the wait, because the
server holds those requests open on purpose.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, TypeVar
from urllib.parse import quote, urlencode

import msgspec

from coflux import protocol
from coflux.client.errors import ApiError, ServerUnavailable
from coflux.client.transport import HttpTransport, Response, Transport
from coflux.views import (
    AuthView,
    CancelResult,
    EnvironmentView,
    ErrorBody,
    InputList,
    InputView,
    LogPage,
    MetricPointPage,
    MetricView,
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

T = TypeVar("T")

DEFAULT_HOST = "localhost:7777"
MAX_WAIT = 60.0  # the server caps ``wait`` at this many seconds


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET = _Unset.UNSET
"""Marks an optional PATCH field as "leave unchanged" (``None`` means "remove")."""


def base_url(host: str) -> str:
    """``localhost:7777`` -> ``http://localhost:7777``; URLs with a scheme pass through."""
    return host.rstrip("/") if "://" in host else f"http://{host.rstrip('/')}"


def _seg(value: str) -> str:
    """Quote one path segment (project names and ids may hold any character)."""
    return quote(value, safe="")


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    reason: str
    content: bytes


class Client:
    """A client of one Coflux server.

    Args:
        host: ``HOST:PORT`` or a full ``http(s)://`` URL.
        token: sent as ``Authorization: Bearer`` when set.
        timeout: seconds for connecting and for each ordinary request.
        transport: makes the transport to the server's base URL (tests pass a fake).
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        transport: Callable[[str], Transport] = HttpTransport,
    ) -> None:
        self.host = host
        self._timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            self._transport = transport(base_url(host))
        except ValueError as e:
            raise ServerUnavailable(host, str(e)) from None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # --- plumbing ----------------------------------------------------------------

    def _open(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        wait: float | None = None,
    ) -> Response:
        """Send a request; the answer with its body still to read, if its status
        is a success (an error status is read and raised as ``ApiError``)."""
        headers = dict(self._headers)
        content = None
        if body is not None:
            content = msgspec.json.encode(body)
            headers["Content-Type"] = "application/json"
        # A list is a parameter repeated (state=a&state=b).
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
        target = f"{path}?{query}" if query else path
        with self._failures():
            response = self._transport.request(
                method, target, headers, content, self._timeout + (wait or 0.0)
            )
        if response.status >= 400:
            raise _api_error(_Reply(response.status, response.reason, self._read(response)))
        return response

    def _read(self, response: Response, size: int | None = None) -> bytes:
        """The rest of the body (or up to ``size`` bytes of it; b"" at its end)."""
        with self._failures():
            return response.read(size)

    @contextlib.contextmanager
    def _failures(self) -> Iterator[None]:
        """Turn what the network raises into ``ServerUnavailable``."""
        try:
            yield
        except TimeoutError:
            raise ServerUnavailable(self.host, "the request timed out") from None
        except (ConnectionRefusedError, socket.gaierror) as e:
            raise ServerUnavailable(self.host, f"connection failed ({e})") from None
        except (OSError, http.client.HTTPException) as e:
            raise ServerUnavailable(self.host, str(e) or type(e).__name__) from None

    def _request(self, method: str, path: str, **kwargs: Any) -> _Reply:
        response = self._open(method, path, **kwargs)
        return _Reply(response.status, response.reason, self._read(response))

    def _call(self, type_: type[T], method: str, path: str, **kwargs: Any) -> T:
        response = self._request(method, path, **kwargs)
        try:
            return msgspec.json.decode(response.content, type=type_)
        except msgspec.DecodeError as e:
            raise ApiError(
                response.status, "bad_response", f"unexpected response from {path}: {e}"
            ) from None

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """For routes whose response shape is not pinned yet: plain JSON."""
        return self._call(Any, method, path, **kwargs)

    # --- projects ----------------------------------------------------------------

    def list_projects(self) -> list[ProjectInfo]:
        return self._call(list[ProjectInfo], "GET", "/api/projects")

    def create_project(self, name: str) -> ProjectInfo:
        return self._call(ProjectInfo, "POST", "/api/projects", body={"name": name})

    def list_servers(self) -> ServersView:
        return self._call(ServersView, "GET", "/api/servers")

    # --- tokens ------------------------------------------------------------------

    def get_auth(self) -> AuthView:
        return self._call(AuthView, "GET", "/api/auth")

    def create_token(
        self,
        project: str,
        environments: Sequence[str] | None = None,
        read_only: bool = False,
        description: str = "",
    ) -> TokenCreated:
        body: dict[str, Any] = {"project": project, "read_only": read_only}
        if environments:
            body["environments"] = list(environments)
        if description:
            body["description"] = description
        return self._call(TokenCreated, "POST", "/api/tokens", body=body)

    def list_tokens(self) -> list[TokenView]:
        return self._call(list[TokenView], "GET", "/api/tokens")

    def revoke_token(self, token_id: str) -> TokenView:
        return self._call(TokenView, "POST", f"/api/tokens/{_seg(token_id)}/revoke")

    # --- environments ------------------------------------------------------------

    def list_environments(self, project: str) -> list[EnvironmentView]:
        path = f"/api/projects/{_seg(project)}/environments"
        return self._call(list[EnvironmentView], "GET", path)

    def create_environment(
        self, project: str, name: str, base: str | None = None
    ) -> EnvironmentView:
        body: dict[str, Any] = {"name": name}
        if base is not None:
            body["base"] = base
        path = f"/api/projects/{_seg(project)}/environments"
        return self._call(EnvironmentView, "POST", path, body=body)

    def update_environment(
        self,
        project: str,
        environment: str,
        *,
        name: str | None = None,
        base: str | _Unset | None = UNSET,
    ) -> EnvironmentView:
        """Rename and/or re-base; ``base=None`` removes the base, ``UNSET`` keeps it."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if base is not UNSET:
            body["base"] = base
        return self._call(EnvironmentView, "PATCH", self._env_path(project, environment), body=body)

    def pause_environment(self, project: str, environment: str) -> EnvironmentView:
        return self._env_action(project, environment, "pause")

    def resume_environment(self, project: str, environment: str) -> EnvironmentView:
        return self._env_action(project, environment, "resume")

    def archive_environment(self, project: str, environment: str) -> EnvironmentView:
        return self._env_action(project, environment, "archive")

    def _env_path(self, project: str, environment: str) -> str:
        return f"/api/projects/{_seg(project)}/environments/{_seg(environment)}"

    def _env_action(self, project: str, environment: str, action: str) -> EnvironmentView:
        path = f"{self._env_path(project, environment)}/{action}"
        return self._call(EnvironmentView, "POST", path)

    # --- manifests ---------------------------------------------------------------

    def list_manifests(self, project: str, environment: str) -> list[protocol.Manifest]:
        path = f"{self._env_path(project, environment)}/manifests"
        return self._call(list[protocol.Manifest], "GET", path)

    def register_manifests(
        self, project: str, environment: str, manifests: Sequence[protocol.Manifest]
    ) -> list[str]:
        """Register manifests; returns the names of the repositories registered."""
        path = f"{self._env_path(project, environment)}/manifests"
        body = {"manifests": list(manifests)}
        return self._call(Registered, "POST", path, body=body).repositories

    # --- runs --------------------------------------------------------------------

    def submit(
        self,
        project: str,
        environment: str,
        repository: str,
        target: str,
        arguments: Sequence[protocol.Value] = (),
        *,
        idempotency_key: str | None = None,
    ) -> RunSubmitted:
        body: dict[str, Any] = {
            "environment": environment,
            "repository": repository,
            "target": target,
            "arguments": list(arguments),
        }
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        return self._call(RunSubmitted, "POST", f"/api/projects/{_seg(project)}/runs", body=body)

    def list_runs(
        self,
        project: str,
        *,
        environment: str | None = None,
        repository: str | None = None,
        target: str | None = None,
        states: Sequence[str] = (),
        since: float | None = None,
        until: float | None = None,
        idempotency_key: str | None = None,
        search: str | None = None,
        oldest_first: bool = False,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[RunListed]:
        """A page of runs (``docs/api.md``, "Finding runs"); pass the last one's
        ``cursor`` as ``after``, with the same filters, for the next."""
        params = {
            "environment": environment,
            "repository": repository,
            "target": target,
            "state": list(states) or None,
            "since": since,
            "until": until,
            "idempotency_key": idempotency_key,
            "search": search,
            "order": "oldest" if oldest_first else None,
            "after": after,
            "limit": limit,
        }
        path = f"/api/projects/{_seg(project)}/runs"
        return self._call(list[RunListed], "GET", path, params=params)

    def get_run(self, project: str, run_id: str) -> RunView:
        return self._call(RunView, "GET", self._run_path(project, run_id))

    def get_run_outline(self, project: str, run_id: str, *, previews: bool = False) -> RunOutline:
        """The run's outline; ``previews``: with its values' previews (dearer to make)."""
        path = f"{self._run_path(project, run_id)}/outline"
        return self._call(RunOutline, "GET", path, params={"previews": "1"} if previews else None)

    def get_result(self, project: str, run_id: str, *, wait: float | None = None) -> RunResult:
        """The run's state and outcome; with ``wait``, the server holds the request
        up to that many seconds (at most 60) for the outcome to exist."""
        path = f"{self._run_path(project, run_id)}/result"
        return self._call(RunResult, "GET", path, params={"wait": wait}, wait=wait)

    def wait_result(self, project: str, run_id: str, *, timeout: float | None = None) -> RunResult:
        """Long-poll until the run has an outcome (or ``timeout`` seconds passed).

        The server blocks on each request until the outcome exists, so looping
        on the long poll costs one request per minute, not a busy loop.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = MAX_WAIT if deadline is None else deadline - time.monotonic()
            result = self.get_result(project, run_id, wait=max(0.0, min(MAX_WAIT, remaining)))
            if result.outcome is not None or remaining <= 0:
                return result

    def get_logs(
        self,
        project: str,
        run_id: str,
        *,
        execution: str | None = None,
        after: int | None = None,
        wait: float | None = None,
        q: str | None = None,
        level: str | None = None,
    ) -> LogPage:
        """A page of a run's log lines after cursor ``after``: only those whose message
        holds ``q`` (ignoring case) and at ``level`` or above, if given. A filtered
        page may be empty with a cursor that moved on: page on until it stops moving."""
        path = f"{self._run_path(project, run_id)}/logs"
        params = {"execution": execution, "after": after, "wait": wait, "q": q, "level": level}
        return self._call(LogPage, "GET", path, params=params, wait=wait)

    def list_metrics(
        self, project: str, run_id: str, *, execution: str | None = None
    ) -> list[MetricView]:
        """A run's metrics (or one execution's): definitions, point counts, latest points."""
        path = f"{self._run_path(project, run_id)}/metrics"
        return self._call(list[MetricView], "GET", path, params={"execution": execution})

    def get_metric_points(
        self,
        project: str,
        run_id: str,
        *,
        execution: str | None = None,
        after: int | None = None,
        wait: float | None = None,
    ) -> MetricPointPage:
        path = f"{self._run_path(project, run_id)}/metrics/points"
        params = {"execution": execution, "after": after, "wait": wait}
        return self._call(MetricPointPage, "GET", path, params=params, wait=wait)

    def cancel_run(self, project: str, run_id: str) -> list[str]:
        """Cancel a run; returns the ids of the executions cancelled."""
        path = f"{self._run_path(project, run_id)}/cancel"
        return self._call(CancelResult, "POST", path).cancelled

    def cancel_execution(self, project: str, execution_id: str) -> list[str]:
        path = f"/api/projects/{_seg(project)}/executions/{_seg(execution_id)}/cancel"
        return self._call(CancelResult, "POST", path).cancelled

    # --- inputs ------------------------------------------------------------------

    def list_inputs(
        self,
        project: str,
        *,
        environment: str | None = None,
        run: str | None = None,
        status: str | None = None,
    ) -> list[InputView]:
        """Inputs, newest first: pending ones unless ``status`` says otherwise
        (``responded``, ``dismissed`` or ``all``)."""
        params = {"environment": environment, "run": run, "status": status}
        path = f"/api/projects/{_seg(project)}/inputs"
        return self._call(InputList, "GET", path, params=params).inputs

    def get_input(self, project: str, input_id: str) -> InputView:
        return self._call(InputView, "GET", self._input_path(project, input_id))

    def respond_input(self, project: str, input_id: str, value: Any) -> InputView:
        """Answer an input with ``value`` (JSON; None approves an approval)."""
        path = f"{self._input_path(project, input_id)}/respond"
        return self._call(InputView, "POST", path, body={"value": value})

    def dismiss_input(self, project: str, input_id: str) -> InputView:
        return self._call(InputView, "POST", f"{self._input_path(project, input_id)}/dismiss")

    def _input_path(self, project: str, input_id: str) -> str:
        return f"/api/projects/{_seg(project)}/inputs/{_seg(input_id)}"

    def _run_path(self, project: str, run_id: str) -> str:
        return f"/api/projects/{_seg(project)}/runs/{_seg(run_id)}"

    # --- routes still being specified (shapes not pinned: plain JSON) -------------

    def rerun_step(self, project: str, step_id: str, *, environment: str | None = None) -> str:
        """Re-run a step; returns the new execution's id."""
        body = {} if environment is None else {"environment": environment}
        path = f"/api/projects/{_seg(project)}/steps/{_seg(step_id)}/rerun"
        return self._call(RerunStarted, "POST", path, body=body).execution_id

    def get_asset(self, project: str, asset_id: str) -> protocol.AssetInfo:
        """An asset with its files (entries: path, size, blob key)."""
        path = f"/api/projects/{_seg(project)}/assets/{_seg(asset_id)}"
        return self._call(protocol.AssetInfo, "GET", path)

    def list_run_assets(self, project: str, run_id: str) -> RunAssets:
        """The assets a run's executions persisted, and the restores they made."""
        return self._call(RunAssets, "GET", f"{self._run_path(project, run_id)}/assets")

    def get_blob(self, key: str) -> bytes:
        """A (small) blob's whole content; use ``download_blob`` for large ones."""
        return self._request("GET", f"/blobs/{_seg(key)}").content

    def download_blob(self, key: str, file: IO[bytes]) -> None:
        """Stream a blob into ``file``, checking that it hashes to its key.

        Raises:
            ApiError: the server refused (unknown key: 404), or the content
                that arrived does not match the key.
            ServerUnavailable: the transfer failed.
        """
        import hashlib  # (here, like the other imports of the blob paths: every
        # CLI command starts by importing this module, few of them fetch blobs)

        digest = hashlib.sha256()
        response = self._open("GET", f"/blobs/{_seg(key)}")
        while chunk := self._read(response, 1024 * 1024):
            digest.update(chunk)
            file.write(chunk)
        if digest.hexdigest() != key:
            raise ApiError(502, "corrupt_blob", f"blob {key} arrived with another content")

    def resolve_value(self, value: protocol.Value) -> protocol.Value:
        """The inline form of a value stored in the blob store (others are returned as
        they are), for display: bytes as base64, pickled values still only labelled."""
        if value.blob is None or value.data is not None:
            return value
        import tempfile

        from coflux.serialization import value_blob_as_inline

        with tempfile.TemporaryFile() as file:
            self.download_blob(value.blob, file)
            file.seek(0)
            try:
                return value_blob_as_inline(value, file)
            except ValueError as e:
                raise ApiError(502, "bad_blob", f"blob {value.blob}: {e}") from None

    def start_sensor(
        self,
        project: str,
        environment: str,
        repository: str,
        target: str,
        arguments: Sequence[protocol.Value] = (),
    ) -> Any:
        body = {
            "environment": environment,
            "repository": repository,
            "target": target,
            "arguments": list(arguments),
        }
        return self._json("POST", f"/api/projects/{_seg(project)}/sensors", body=body)

    def list_sensors(self, project: str, *, environment: str | None = None) -> Any:
        params = {"environment": environment}
        return self._json("GET", f"/api/projects/{_seg(project)}/sensors", params=params)

    def stop_sensor(self, project: str, sensor_id: str) -> Any:
        return self._json("POST", f"/api/projects/{_seg(project)}/sensors/{_seg(sensor_id)}/stop")


def _api_error(reply: _Reply) -> ApiError:
    try:
        body = msgspec.json.decode(reply.content, type=ErrorBody).error
    except msgspec.DecodeError:
        # Not our error envelope (a proxy, a crash page): keep the status line.
        text = reply.content.decode("utf-8", "replace").strip().splitlines()
        message = text[0][:200] if text else reply.reason
        return ApiError(reply.status, f"http_{reply.status}", message)
    return ApiError(reply.status, body.reason, body.message)
