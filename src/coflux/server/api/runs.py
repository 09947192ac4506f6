"""Runs: submit, list, inspect, wait for a result, read logs and metrics, cancel.

A submission naming a repository or target that is not there is refused with a
message that suggests the name probably meant, or says why a task cannot be
submitted (``explain_missing_target``); an accepted one that no connected agent
can start says why in its ``warning``.

Runs are listed a page at a time, filtered and in either order, through all of
a project's history (``list_runs``); each listed run carries an opaque cursor of
its place, and the last one's gives the next page (a position in the order, so
pages neither repeat nor skip a run while new runs are recorded). Every
parameter is checked, and a bad one is a 400 naming it.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

import msgspec

from coflux import protocol
from coflux.errors import BadRequest, NotFound
from coflux.ids import run_of
from coflux.log_lines import MINIMUM_LEVELS, LogFilter
from coflux.orchestration import environments
from coflux.orchestration.project import Project
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.serialization import refuse_outside_arguments
from coflux.server.routes import Call
from coflux.store.base import RunPosition, RunQuery
from coflux.views import (
    CancelResult,
    LogPage,
    LogView,
    MetricPointPage,
    MetricPointView,
    MetricView,
    RerunStarted,
    RunListed,
    RunOutline,
    RunResult,
    RunSubmitted,
    RunView,
)

MAX_WAIT = 60.0


class SubmitRun(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    environment: protocol.Name
    repository: protocol.Name
    target: protocol.Name
    arguments: protocol.Arguments = ()
    idempotency_key: protocol.Name | None = None


class Rerun(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    environment: protocol.Name | None = None


def _project(call: Call) -> Project:
    return call.context.projects.get(call.path["project"])


async def explain_missing_target(
    project: Project,
    environment: str,
    repository: str,
    target: str,
    kind: Literal["workflow", "sensor"],
) -> None:
    """After the core refused a missing repository or target: raise the refusal
    again, explained from the environment's manifests as they are now (if they
    have it now, registered meanwhile, this returns and the core's refusal stands)."""
    manifests = {m.repository: m for m in await project.list_manifests(environment)}
    environments.target_definition(manifests, environment, repository, target, kind)


async def submit_run(call: Call) -> RunSubmitted:
    body: SubmitRun = call.body
    # From outside any execution: never anything an executor would unpickle.
    refuse_outside_arguments(body.arguments)
    project = _project(call)
    try:
        run_id, created = await project.submit_run(
            body.environment, body.repository, body.target, body.arguments, body.idempotency_key
        )
    except NotFound as e:
        if e.reason in ("unknown_repository", "unknown_target"):
            await explain_missing_target(
                project, body.environment, body.repository, body.target, "workflow"
            )
        raise
    return RunSubmitted(run_id=run_id, created=created, warning=project.why_run_waits(run_id))


# --- finding runs ---------------------------------------------------------------

MAX_RUNS = 10_000  # a page's runs at most
MIN_SEARCH = 3  # characters: what the trigram indices can look up
STATES = tuple(state.value for state in ExecutionState)
ORDERS = ("newest", "oldest")
ARCHIVED = EnvironmentStatus.ARCHIVED.value


def _text(call: Call, name: str, minimum: int = 1) -> str | None:
    """A text parameter, at most ``MAX_NAME`` characters and no NUL (which no name,
    key or argument holds, and PostgreSQL's text cannot).

    Raises:
        BadRequest: it breaks those bounds.
    """
    value = call.query_str(name)
    if value is None:
        return None
    if not minimum <= len(value) <= protocol.MAX_NAME or "\x00" in value:
        raise BadRequest(
            "invalid_query",
            f"'{name}' must be {minimum} to {protocol.MAX_NAME} characters, without NUL",
        )
    return value


def _states(call: Call) -> tuple[str, ...] | None:
    states = call.query_all("state")
    unknown = [state for state in states if state not in STATES]
    if unknown:
        raise BadRequest(
            "invalid_query", f"'state' must be one of {', '.join(STATES)}, not {unknown[0]!r}"
        )
    return tuple(dict.fromkeys(states)) or None


def _order(call: Call) -> bool:
    """Whether the page is oldest first (``order=oldest``; newest first by default)."""
    order = call.query_str("order") or "newest"
    if order not in ORDERS:
        raise BadRequest("invalid_query", f"'order' must be newest or oldest, not {order!r}")
    return order == "oldest"


def encode_cursor(position: RunPosition) -> str:
    """An opaque cursor of a run's place in the lists: its creation time's exact
    hexadecimal form and its sequence number, in base64url."""
    created_at, seq = position
    return base64.urlsafe_b64encode(f"{created_at.hex()}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> RunPosition:
    """Raises:
    BadRequest: ``cursor`` was not made by ``encode_cursor``."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, seq = text.split(":")
        created_at, number = float.fromhex(at), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid_query", "'after' is not a cursor of a listed run") from None
    if not math.isfinite(created_at) or number < 0:
        raise BadRequest("invalid_query", "'after' is not a cursor of a listed run")
    return created_at, number


def _time(call: Call, name: str) -> float | None:
    """A time parameter: seconds since the epoch, up to the year 9999."""
    if call.query_str(name) is None:
        return None
    return call.query_float(name, 0.0, protocol.MAX_TIMESTAMP)


def _run_query(call: Call) -> RunQuery:
    return RunQuery(
        repository=_text(call, "repository"),
        target=_text(call, "target"),
        states=_states(call),
        since=_time(call, "since"),
        until=_time(call, "until"),
        idempotency_key=_text(call, "idempotency_key"),
        search=_text(call, "search", MIN_SEARCH),
        oldest_first=_order(call),
    )


async def list_runs(call: Call) -> list[RunListed]:
    project = _project(call)
    query = _run_query(call)
    cursor = _text(call, "after")
    after = None if cursor is None else decode_cursor(cursor)
    limit = call.query_int("limit", 100, MAX_RUNS)
    if limit < 1:
        raise BadRequest("invalid_query", f"'limit' must be between 1 and {MAX_RUNS}")
    environment = _text(call, "environment")
    environments: list[str] | None = None if environment is None else [environment]
    if environment is None and call.principal.environment_limited:
        # An environment-limited token finds only its environments' runs.
        environments = [
            e.name
            for e in await project.list_environments()
            if e.status != ARCHIVED and call.principal.sees_environment(e.name)
        ]
    page = await project.find_runs(environments, query, after=after, limit=limit)
    return [
        RunListed(**msgspec.structs.asdict(run), cursor=encode_cursor(position))
        for run, position in zip(page.runs, page.positions, strict=True)
    ]


async def get_run(call: Call) -> RunView:
    return await _project(call).get_run(call.path["run_id"])


async def get_run_outline(call: Call) -> RunOutline:
    previews = call.query_flag("previews")
    return await _project(call).get_run_outline(call.path["run_id"], previews)


async def get_result(call: Call) -> RunResult:
    wait = call.query_float("wait", 0.0, MAX_WAIT)
    run, outcome = await _project(call).run_result(call.path["run_id"], wait)
    return RunResult(run_id=run.id, state=run.state, outcome=outcome)


Page = TypeVar("Page", LogView, MetricPointView)


async def _page_after(
    call: Call,
    read: Callable[[Project, str, str | None, int], Awaitable[tuple[list[Page], int]]],
) -> tuple[list[Page], int]:
    """A page of a run's entries after the ``after`` cursor (of one ``execution``, if
    given), waiting up to ``wait`` seconds for one while the run goes on; the page
    and the cursor to pass next. ``read`` gives a page and the last id it examined:
    a filtered read may examine entries and keep none, and then answers at once (an
    empty page whose cursor moved on) so a caller pages on instead of waiting."""
    project = _project(call)
    run_id = call.path["run_id"]
    after = call.query_int("after", 0, 2**62)
    wait = call.query_float("wait", 0.0, MAX_WAIT)
    execution_id = call.query_str("execution")
    deadline = time.monotonic() + wait
    run = await project.get_run_summary(run_id)
    while True:
        page, cursor = await read(project, run_id, execution_id, after)
        remaining = deadline - time.monotonic()
        if page or cursor != after or remaining <= 0 or run.completed_at is not None:
            return page, cursor
        # Sleep until something happens to the run (a fact is committed), not on a timer.
        await call.context.topics.wait_for_run(project.info.id, run_id, remaining)
        run = await project.get_run_summary(run_id)


# --- logs -----------------------------------------------------------------------

LOG_PAGE = 1000  # lines in a page at most, and in each read of the store
# A search reads at most this many pages of the store in one request (then answers
# with what it found and where it stopped), so one request's time stays bounded
# however long a run's logs are.
LOG_SCAN_PAGES = 20


def _log_filter(call: Call) -> LogFilter:
    """The ``q`` (text in the message, ignoring case) and ``level`` (the lowest
    kept) of a logs request.

    Raises:
        BadRequest: ``q`` breaks the bounds of text, or ``level`` is not a level.
    """
    minimum = call.query_str("level")
    if minimum is not None and minimum not in MINIMUM_LEVELS:
        raise BadRequest(
            "invalid_query", f"'level' must be one of {', '.join(MINIMUM_LEVELS)}, not {minimum!r}"
        )
    return LogFilter(text=_text(call, "q"), minimum=minimum)


async def _read_logs(
    project: Project, run_id: str, execution_id: str | None, after: int, wanted: LogFilter
) -> tuple[list[LogView], int]:
    """A page of log lines after ``after`` that ``wanted`` keeps, and the last id
    examined. The store filters by level; the text is matched here, in the message
    as people read it (``coflux.log_lines``), page by page."""
    found: list[LogView] = []
    cursor = after
    for _ in range(LOG_SCAN_PAGES if wanted.searching else 1):
        page = await project.list_logs(
            run_id, execution_id=execution_id, after=cursor, limit=LOG_PAGE, levels=wanted.levels()
        )
        if not page:
            break
        cursor = page[-1].id
        found.extend(entry for entry in page if wanted.matches(entry))
        if len(found) >= LOG_PAGE:
            # The rest of this store page is read again next time, after the last kept.
            found = found[:LOG_PAGE]
            return found, found[-1].id
        if len(page) < LOG_PAGE:
            break
    return found, cursor


async def get_logs(call: Call) -> LogPage:
    wanted = _log_filter(call)

    async def read(
        project: Project, run_id: str, execution_id: str | None, after: int
    ) -> tuple[list[LogView], int]:
        return await _read_logs(project, run_id, execution_id, after, wanted)

    logs, cursor = await _page_after(call, read)
    return LogPage(logs=logs, cursor=cursor)


async def get_metrics(call: Call) -> list[MetricView]:
    project = _project(call)
    run_id = call.path["run_id"]
    await project.get_run_summary(run_id)
    return await project.list_metrics(run_id, execution_id=call.query_str("execution"))


async def get_metric_points(call: Call) -> MetricPointPage:
    async def read(
        project: Project, run_id: str, execution_id: str | None, after: int
    ) -> tuple[list[MetricPointView], int]:
        points = await project.list_metric_points(run_id, execution_id=execution_id, after=after)
        return points, points[-1].id if points else after

    points, cursor = await _page_after(call, read)
    return MetricPointPage(points=points, cursor=cursor)


async def cancel_run(call: Call) -> CancelResult:
    return CancelResult(cancelled=await _project(call).cancel_run(call.path["run_id"]))


async def cancel_execution(call: Call) -> CancelResult:
    execution_id = call.path["execution_id"]
    project = _project(call)
    await project.get_run_summary(run_of(execution_id))
    return CancelResult(cancelled=await project.cancel_execution(execution_id))


async def rerun_step(call: Call) -> RerunStarted:
    body: Rerun = call.body
    execution_id = await _project(call).rerun_step(call.path["step_id"], body.environment)
    return RerunStarted(execution_id=execution_id)
