"""Waiting for a run and reporting how it ended (``submit --wait``, ``runs result``).

The contract: on success the result, rendered as JSON, is the only thing on
stdout and the exit code is 0; otherwise stderr says what went wrong (for a
failure: the error, the step where it started and its traceback; for a timeout:
how long the workflow ran and which execution that was) and the exit code is 1.
"""

from __future__ import annotations

import click

from coflux import protocol
from coflux.cli.output import CliError, info, out
from coflux.cli.render import deepest_failure, display_json
from coflux.client import Client, RunResult
from coflux.errors import CofluxError


def short_type(type_name: str) -> str:
    """``builtins.ValueError`` -> ``ValueError``; other qualified names are kept."""
    return type_name.removeprefix("builtins.")


def _report_failure(client: Client, project: str, run_id: str, error: protocol.ErrorInfo) -> None:
    info(f"error: run {run_id} failed: {short_type(error.type)}: {error.message}")
    traceback = error.traceback
    try:
        located = deepest_failure(client.get_run(project, run_id))
    except CofluxError:
        located = None  # the error itself was printed; the location is a bonus
    if located is not None:
        step, execution = located
        info(f"failing step: {step.id} ({step.repository}.{step.target}), execution {execution.id}")
        match execution.outcome:
            case protocol.Failed(error=origin):
                if (origin.type, origin.message) != (error.type, error.message):
                    info(f"raised there: {short_type(origin.type)}: {origin.message}")
                traceback = origin.traceback or traceback
            case protocol.TimedOut(timeout=timeout):
                info(f"timed out there after {timeout:g} s")
    if traceback:
        info(traceback.rstrip())


def _report_timeout(client: Client, project: str, run_id: str, timeout: float) -> None:
    info(f"error: run {run_id} timed out after {timeout:g} s")
    try:
        run = client.get_run(project, run_id)
    except CofluxError:
        return  # the timeout itself was printed; the step is a bonus
    root = run.steps[0] if run.steps and run.steps[0].executions else None
    if root is not None:
        attempts = sum(1 for e in root.executions if e.state == "timed_out")
        tried = f" ({attempts} attempts timed out)" if attempts > 1 else ""
        info(
            f"failing step: {root.id} ({root.repository}.{root.target}),"
            f" execution {root.executions[-1].id}{tried}"
        )


def report(client: Client, project: str, result: RunResult) -> int:
    """Print a run's outcome per the contract above; returns the exit code."""
    run_id = result.run_id
    match result.outcome:
        case protocol.Succeeded(value=value):
            out(display_json(client.resolve_value(value)))  # a large result is a blob
            return 0
        case protocol.Failed(error=error):
            _report_failure(client, project, run_id, error)
        case protocol.Cancelled():
            info(f"error: run {run_id} was cancelled")
        case protocol.Abandoned():
            info(f"error: run {run_id} was abandoned (its agent stopped responding)")
        case protocol.TimedOut(timeout=timeout):
            _report_timeout(client, project, run_id, timeout)
        case None:
            raise CliError(
                f"run {run_id} has not finished (state: {result.state}); pass --wait to wait for it"
            )
    return 1


def finish(client: Client, project: str, run_id: str, *, wait: bool) -> None:
    """Print the run's result (waiting for it if asked) and exit with the contract's code."""
    result = client.wait_result(project, run_id) if wait else client.get_result(project, run_id)
    click.get_current_context().exit(report(client, project, result))
