"""Sensors: start, list and stop the long-running targets the server keeps going."""

from __future__ import annotations

import msgspec

from coflux import protocol
from coflux.errors import NotFound
from coflux.orchestration.project import Project
from coflux.serialization import refuse_outside_arguments
from coflux.server.api.runs import explain_missing_target
from coflux.server.routes import Call


class StartSensor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    environment: protocol.Name
    repository: protocol.Name
    target: protocol.Name
    arguments: protocol.Arguments = ()


class SensorStarted(msgspec.Struct, frozen=True):
    sensor_id: str


class SensorView(msgspec.Struct, frozen=True):
    id: str  # the id of the run that keeps the sensor going
    repository: str
    target: str
    execution_id: str  # the current execution (each restart is a new one)
    state: str
    arguments: tuple[protocol.Value, ...]  # what it runs with now (its last checkpoint)


class SensorStopped(msgspec.Struct, frozen=True):
    cancelled: list[str]


def _project(call: Call) -> Project:
    return call.context.projects.get(call.path["project"])


async def start_sensor(call: Call) -> SensorStarted:
    body: StartSensor = call.body
    # From outside any execution: never anything an executor would unpickle.
    refuse_outside_arguments(body.arguments)
    project = _project(call)
    try:
        sensor_id = await project.start_sensor(
            body.environment, body.repository, body.target, body.arguments
        )
    except NotFound as e:
        if e.reason in ("unknown_repository", "unknown_target"):
            await explain_missing_target(
                project, body.environment, body.repository, body.target, "sensor"
            )
        raise
    return SensorStarted(sensor_id)


async def list_sensors(call: Call) -> list[SensorView]:
    sensors = await _project(call).list_sensors(call.query_str("environment"))
    environments = await _project(call).list_environments()
    allowed = {e.id for e in environments if call.principal.sees_environment(e.name)}
    return [
        SensorView(
            run.id,
            e.repository,
            e.target,
            e.id,
            e.state.value,
            e.checkpoint if e.checkpoint is not None else e.arguments,
        )
        for run, e in sensors
        if run.environment_id in allowed
    ]


async def stop_sensor(call: Call) -> SensorStopped:
    return SensorStopped(await _project(call).stop_sensor(call.path["sensor_id"]))
