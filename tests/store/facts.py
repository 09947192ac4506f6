"""Builders of the facts the store tests append, with the id scheme the server uses.

Ids follow docs/api.md: a step is ``RUN:NUMBER``, an execution ``RUN:NUMBER:ATTEMPT``,
so the run (and step) of an execution can be read off its id. Times are plain
floats from the test: the store never reads a clock.
"""

from __future__ import annotations

from typing import Any

from coflux import protocol
from coflux.orchestration.effects import (
    EnvironmentRecorded,
    ExecutionCreated,
    ExecutionTransitioned,
    Fact,
    LogsRecorded,
    ManifestRegistered,
    OutcomeRecorded,
    RunCreated,
    SessionStarted,
    StepCreated,
)
from coflux.orchestration.states import EnvironmentStatus, ExecutionState

T0 = 1_700_000_000.0
ENV = "env-prod"


def value(data: Any) -> protocol.Value:
    return protocol.Value(format="json", data=data)


def environment(
    env_id: str = ENV,
    name: str = "production",
    at: float = T0,
    *,
    base_id: str | None = None,
    status: EnvironmentStatus = EnvironmentStatus.ACTIVE,
) -> EnvironmentRecorded:
    return EnvironmentRecorded(
        environment_id=env_id, name=name, base_id=base_id, status=status, at=at
    )


def manifest(repository: str, *targets: str) -> protocol.Manifest:
    return protocol.Manifest(
        repository=repository,
        targets=tuple(
            protocol.TargetDefinition(
                name=target,
                type="workflow",
                parameters=(protocol.Parameter(name="x"),),
                options=protocol.TargetOptions(requires={"gpu": ("A100",)}),
            )
            for target in targets
        ),
    )


def register(
    repository: str, *targets: str, env_id: str = ENV, at: float = T0
) -> ManifestRegistered:
    return ManifestRegistered(environment_id=env_id, manifest=manifest(repository, *targets), at=at)


def session(session_id: str = "s1", env_id: str = ENV, at: float = T0) -> SessionStarted:
    return SessionStarted(
        session_id=session_id,
        environment_id=env_id,
        concurrency=2,
        provides={"gpu": ("A100",)},
        at=at,
    )


def run_of(execution_id: str) -> str:
    return execution_id.split(":")[0]


def start_run(
    run_id: str,
    at: float = T0,
    *,
    env_id: str = ENV,
    repository: str = "flows",
    target: str = "main",
    key: str | None = None,
    arguments: tuple[protocol.Value, ...] = (),
) -> list[Fact]:
    """A run with its first step, that step's first execution, queued."""
    return [
        RunCreated(
            run_id=run_id,
            environment_id=env_id,
            repository=repository,
            target=target,
            idempotency_key=key,
            at=at,
        ),
        *step(
            run_id,
            1,
            at,
            env_id=env_id,
            repository=repository,
            target=target,
            kind="workflow",
            arguments=arguments,
        ),
    ]


def step(
    run_id: str,
    number: int,
    at: float,
    *,
    env_id: str = ENV,
    parent: str | None = None,
    call_index: int | None = None,
    repository: str = "flows",
    target: str = "task",
    kind: protocol.TargetType = "task",
    arguments: tuple[protocol.Value, ...] = (),
) -> list[Fact]:
    """A step and its first execution, queued."""
    options = protocol.TargetOptions(retries=protocol.RetryOptions(limit=2), delay=1.5)
    return [
        StepCreated(
            step_id=f"{run_id}:{number}",
            run_id=run_id,
            number=number,
            parent_execution_id=parent,
            call_index=call_index,
            repository=repository,
            target=target,
            type=kind,
            arguments=arguments,
            options=options,
            at=at,
        ),
        *attempt(f"{run_id}:{number}", 1, at, env_id=env_id),
    ]


def attempt(step_id: str, number: int, at: float, *, env_id: str = ENV) -> list[Fact]:
    """A new execution of a step, queued (a retry, or a re-run in ``env_id``)."""
    run_id = run_of(step_id)
    execution_id = f"{step_id}:{number}"
    return [
        ExecutionCreated(
            execution_id=execution_id,
            step_id=step_id,
            run_id=run_id,
            attempt=number,
            environment_id=env_id,
            due_at=at + 0.5,
            at=at,
        ),
        transition(execution_id, ExecutionState.QUEUED, at),
    ]


def transition(
    execution_id: str, state: ExecutionState, at: float, session_id: str | None = None
) -> ExecutionTransitioned:
    return ExecutionTransitioned(
        execution_id=execution_id,
        run_id=run_of(execution_id),
        state=state,
        session_id=session_id,
        at=at,
    )


def outcome(execution_id: str, result: protocol.Outcome, at: float) -> OutcomeRecorded:
    return OutcomeRecorded(
        execution_id=execution_id, run_id=run_of(execution_id), outcome=result, at=at
    )


def succeed(execution_id: str, at: float, data: Any = None, session_id: str = "s1") -> list[Fact]:
    """Assigned at ``at``, succeeded one second later with ``data``."""
    return [
        transition(execution_id, ExecutionState.ASSIGNED, at, session_id),
        transition(execution_id, ExecutionState.SUCCEEDED, at + 1, session_id),
        outcome(execution_id, protocol.Succeeded(value=value(data)), at + 1),
    ]


def fail(execution_id: str, at: float, message: str = "boom") -> list[Fact]:
    """Assigned at ``at``, failed one second later."""
    error = protocol.ErrorInfo(type="ValueError", message=message, traceback="Traceback...")
    return [
        transition(execution_id, ExecutionState.ASSIGNED, at, "s1"),
        transition(execution_id, ExecutionState.FAILED, at + 1, "s1"),
        outcome(execution_id, protocol.Failed(error=error), at + 1),
    ]


def logs(*entries: tuple[str, str, float], level: protocol.LogLevel = "info") -> LogsRecorded:
    """One LogsRecorded of (execution_id, template, timestamp) entries."""
    return LogsRecorded(
        entries=tuple(
            protocol.LogEntry(
                execution_id=execution_id,
                timestamp=timestamp,
                level=level,
                template=template,
                values={"n": value(index)},
            )
            for index, (execution_id, template, timestamp) in enumerate(entries)
        ),
        run_ids=tuple(run_of(execution_id) for execution_id, _, _ in entries),
    )


def finished_run() -> list[Fact]:
    """R1: root calls a task that fails once and succeeds on its retry."""
    return [
        environment(),
        session("s1"),
        *start_run("R1", T0, arguments=(value(1), value("a"))),
        transition("R1:1:1", ExecutionState.ASSIGNED, T0 + 1, "s1"),
        *step("R1", 2, T0 + 2, parent="R1:1:1", call_index=0, arguments=(value(2),)),
        *fail("R1:2:1", T0 + 3),
        *attempt("R1:2", 2, T0 + 5),
        *succeed("R1:2:2", T0 + 6, data=42),
        transition("R1:1:1", ExecutionState.SUCCEEDED, T0 + 8, "s1"),
        outcome("R1:1:1", protocol.Succeeded(value=value("done")), T0 + 8),
    ]


def busy_run() -> list[Fact]:
    """R2 (unfinished): its root is running and has made three calls."""
    return [
        *start_run("R2", T0 + 10, arguments=(value([1, 2]),)),
        transition("R2:1:1", ExecutionState.ASSIGNED, T0 + 11, "s1"),
        *step("R2", 2, T0 + 12, parent="R2:1:1", call_index=0),
        *step("R2", 3, T0 + 12, parent="R2:1:1", call_index=1),
        *succeed("R2:3:1", T0 + 13),
        *step("R2", 4, T0 + 14, parent="R2:1:1", call_index=2, arguments=(value("x"),)),
        transition("R2:4:1", ExecutionState.ASSIGNED, T0 + 15, "s2"),
    ]
