"""Runs: submit, list, inspect, wait for a result, read logs, cancel.

A submission naming a repository or target that is not there is refused with a
message that suggests the name probably meant, or says why a task cannot be
submitted (``explain_missing_target``); an accepted one that no connected agent
can start says why in its ``warning``.
"""

from __future__ import annotations

import time
from typing import Literal

import msgspec

from coflux import protocol
from coflux.errors import NotFound
from coflux.orchestration import environments
from coflux.orchestration.model import run_of
from coflux.orchestration.project import Project
from coflux.serialization import refuse_outside_arguments
from coflux.server.routes import Call
from coflux.views import (
    CancelResult,
    LogPage,
    RerunStarted,
    RunOutline,
    RunResult,
    RunSubmitted,
    RunSummary,
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


async def list_runs(call: Call) -> list[RunSummary]:
    runs = await _project(call).list_runs(
        environment=call.query_str("environment"),
        repository=call.query_str("repository"),
        target=call.query_str("target"),
        limit=call.query_int("limit", 100, 10_000),
    )
    # An environment-limited token sees only its environments' runs.
    return [r for r in runs if call.principal.sees_environment(r.environment)]


async def get_run(call: Call) -> RunView:
    return await _project(call).get_run(call.path["run_id"])


async def get_run_outline(call: Call) -> RunOutline:
    return await _project(call).get_run_outline(call.path["run_id"])


async def get_result(call: Call) -> RunResult:
    wait = call.query_float("wait", 0.0, MAX_WAIT)
    run, outcome = await _project(call).run_result(call.path["run_id"], wait)
    return RunResult(run_id=run.id, state=run.state, outcome=outcome)


async def get_logs(call: Call) -> LogPage:
    project = _project(call)
    run_id = call.path["run_id"]
    after = call.query_int("after", 0, 2**62)
    wait = call.query_float("wait", 0.0, MAX_WAIT)
    execution_id = call.query_str("execution")
    deadline = time.monotonic() + wait
    run = await project.get_run_summary(run_id)
    while True:
        logs = await project.list_logs(run_id, execution_id=execution_id, after=after)
        remaining = deadline - time.monotonic()
        if logs or remaining <= 0 or run.completed_at is not None:
            return LogPage(logs=logs, cursor=logs[-1].id if logs else after)
        # Sleep until something happens to the run (a fact is committed), not on a timer.
        await call.context.topics.wait_for_run(project.info.id, run_id, remaining)
        run = await project.get_run_summary(run_id)


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
