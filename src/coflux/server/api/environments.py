"""Environments of a project (create, update, pause/resume/archive) and their manifests."""

from __future__ import annotations

import msgspec

from coflux import protocol
from coflux.orchestration.project import Project
from coflux.orchestration.states import EnvironmentStatus
from coflux.server.routes import Call
from coflux.views import EnvironmentView, Registered


class CreateEnvironment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: protocol.EnvironmentName
    base: protocol.EnvironmentName | None = None


class UpdateEnvironment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: protocol.EnvironmentName | None = None
    # Absent: keep the base; null: remove it; a name: re-base onto that environment.
    base: protocol.EnvironmentName | msgspec.UnsetType | None = msgspec.UNSET


class RegisterManifests(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    manifests: tuple[protocol.Manifest, ...]


def _project(call: Call) -> Project:
    return call.context.projects.get(call.path["project"])


async def list_environments(call: Call) -> list[EnvironmentView]:
    environments = await _project(call).list_environments()
    return [e for e in environments if call.principal.sees_environment(e.name)]


async def create_environment(call: Call) -> EnvironmentView:
    body: CreateEnvironment = call.body
    project = _project(call)
    call.principal.require(project.info.id, body.name, write=True)
    return await project.create_environment(body.name, body.base)


async def update_environment(call: Call) -> EnvironmentView:
    body: UpdateEnvironment = call.body
    change_base = body.base is not msgspec.UNSET
    base = body.base if isinstance(body.base, str) else None
    return await _project(call).update_environment(
        call.path["environment"], new_name=body.name, change_base=change_base, base=base
    )


def _status_handler(status: EnvironmentStatus):  # type: ignore[no-untyped-def]
    async def handler(call: Call) -> EnvironmentView:
        return await _project(call).set_environment_status(call.path["environment"], status)

    handler.__name__ = f"{status.value}_environment"
    return handler


pause_environment = _status_handler(EnvironmentStatus.PAUSED)
resume_environment = _status_handler(EnvironmentStatus.ACTIVE)
archive_environment = _status_handler(EnvironmentStatus.ARCHIVED)


async def list_manifests(call: Call) -> list[protocol.Manifest]:
    return await _project(call).list_manifests(call.path["environment"])


async def register_manifests(call: Call) -> Registered:
    body: RegisterManifests = call.body
    await _project(call).register_manifests(call.path["environment"], body.manifests)
    return Registered(repositories=[m.repository for m in body.manifests])
