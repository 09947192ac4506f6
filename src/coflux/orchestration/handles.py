"""The handles that incoming values name, and the check that they are the project's.

A value lists the executions and assets it holds handles to (``Value.executions``,
``Value.assets``), so the server sees dependencies without decoding it. A handle
the project does not have (made up, or taken from another project: ids are
random, so those are unknown here) would be waited for as if it had finished,
or restored as nothing, so every value that comes in is checked before anything
records it: run and sensor arguments from the API, and from agents the
arguments of calls, results, checkpoints, and the executions a suspended one
waits for.

This module is pure: ``named`` finds an event's handles, ``unknown_in_memory``
keeps those the state cannot vouch for (assets are never in memory; executions
are while their run is), and ``refuse`` raises. The actor asks the store about
what is left, since a finished run's executions live only there.
"""

from __future__ import annotations

from dataclasses import dataclass

from coflux import protocol
from coflux.errors import BadRequest
from coflux.orchestration.events import (
    CompleteExecution,
    Event,
    RecordCheckpoint,
    ScheduleStep,
    SubmitRun,
)
from coflux.orchestration.model import ProjectState


@dataclass(frozen=True, slots=True)
class Handles:
    """Handles by id, each with the field that names it first (for the refusal)."""

    executions: dict[str, str]
    assets: dict[str, str]

    def __bool__(self) -> bool:
        return bool(self.executions or self.assets)


def named(event: Event) -> Handles:
    """The executions and assets named by the values an event would record."""
    values: list[tuple[str, protocol.Value]] = []  # (field, value)
    waited: tuple[str, ...] = ()
    match event:
        case SubmitRun(arguments=arguments) | RecordCheckpoint(arguments=arguments):
            values = [(f"arguments[{i}]", v) for i, v in enumerate(arguments)]
        case ScheduleStep(submit=submit):
            values = [(f"arguments[{i}]", v) for i, v in enumerate(submit.arguments)]
        case CompleteExecution(outcome=protocol.Succeeded(value=value)):
            values = [("outcome.value", value)]
        case CompleteExecution(outcome=protocol.Suspended(waiting_for=waited)):
            pass
    executions = dict.fromkeys(waited, "outcome.waiting_for")
    assets: dict[str, str] = {}
    for field, value in values:
        for execution_id in value.executions:
            executions.setdefault(execution_id, field + ".executions")
        for asset_id in value.assets:
            assets.setdefault(asset_id, field + ".assets")
    return Handles(executions, assets)


def unknown_in_memory(state: ProjectState, handles: Handles) -> Handles:
    """The handles that the state cannot vouch for: only the store can."""
    executions = {e: f for e, f in handles.executions.items() if e not in state.executions}
    return Handles(executions, handles.assets)


def refuse(missing: Handles) -> None:
    """Raise if any handle is missing from the project.

    Raises:
        BadRequest: ``unknown_handle``, naming the field and the first missing
            execution or asset.
    """
    for kind, found in (("execution", missing.executions), ("asset", missing.assets)):
        for handle, field in found.items():
            raise BadRequest(
                "unknown_handle",
                f"{field} names {kind} {handle!r}, which does not exist in this project",
            )
