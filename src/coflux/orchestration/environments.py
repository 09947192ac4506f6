"""Environments and their manifests, inside the pure core.

Environments form a forest by ``base``: creating, renaming, re-basing (never into
a cycle), pausing, resuming and archiving one are validated here before anything
changes. Manifests (the targets each repository defines) are kept per environment.
"""

from __future__ import annotations

import re

from coflux import protocol
from coflux.errors import BadRequest, Conflict, NotFound
from coflux.orchestration.effects import Effect, EnvironmentRecorded, ManifestRegistered
from coflux.orchestration.events import (
    CreateEnvironment,
    RegisterManifests,
    SetEnvironmentStatus,
    UpdateEnvironment,
)
from coflux.orchestration.model import Environment, ProjectState
from coflux.orchestration.states import EnvironmentStatus

# Always ``fullmatch``: with ``match``, "abc\n" passes (``$`` matches before a final newline).
NAME_PATTERN = re.compile(protocol.NAME_PATTERN)
REPOSITORY_PATTERN = re.compile(protocol.REPOSITORY_PATTERN)
TARGET_PATTERN = re.compile(protocol.TARGET_PATTERN)


def named(state: ProjectState, name: str) -> Environment:
    environment = state.environment_named(name)
    if environment is None:
        raise NotFound("unknown_environment", f"environment '{name}' does not exist")
    return environment


def writable(state: ProjectState, name: str) -> Environment:
    """The environment named ``name``, if it accepts new runs (not paused or archived)."""
    environment = named(state, name)
    if environment.status is not EnvironmentStatus.ACTIVE:
        raise Conflict(
            f"environment_{environment.status.value}",
            f"environment '{name}' is {environment.status.value}",
        )
    return environment


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise BadRequest(
            "invalid_name",
            f"invalid environment name {name!r}: use letters, digits, '_', '.' or '-' "
            "(at most 64, starting with a letter or digit)",
        )


def _record(environment: Environment, now: float, effects: list[Effect]) -> None:
    effects.append(
        EnvironmentRecorded(
            environment.id, environment.name, environment.base_id, environment.status, now
        )
    )


def _ancestors(state: ProjectState, environment_id: str | None) -> list[str]:
    chain: list[str] = []
    while environment_id is not None and environment_id not in chain:
        chain.append(environment_id)
        environment_id = state.environments[environment_id].base_id
    return chain


def ancestry(state: ProjectState, environment_id: str) -> list[str]:
    """The environment's id followed by its bases' ids, nearest first."""
    return _ancestors(state, environment_id)


def create(
    state: ProjectState, event: CreateEnvironment, now: float, effects: list[Effect]
) -> None:
    _check_name(event.name)
    if state.environment_named(event.name) is not None:
        raise Conflict("environment_exists", f"environment '{event.name}' already exists")
    base_id = named(state, event.base).id if event.base is not None else None
    environment = Environment(event.environment_id, event.name, base_id, EnvironmentStatus.ACTIVE)
    state.environments[environment.id] = environment
    _record(environment, now, effects)


def update(
    state: ProjectState, event: UpdateEnvironment, now: float, effects: list[Effect]
) -> None:
    environment = named(state, event.name)
    new_name = event.new_name if event.new_name is not None else environment.name
    if new_name != environment.name:
        _check_name(new_name)
        if state.environment_named(new_name) is not None:
            raise Conflict("environment_exists", f"environment '{new_name}' already exists")
    base_id = environment.base_id
    if event.change_base:
        base_id = named(state, event.base).id if event.base is not None else None
        if environment.id in _ancestors(state, base_id):
            raise Conflict(
                "base_cycle",
                f"'{event.base}' cannot be the base of '{environment.name}': "
                "that would make a cycle of bases",
            )
    environment.name = new_name
    environment.base_id = base_id
    _record(environment, now, effects)


def set_status(
    state: ProjectState, event: SetEnvironmentStatus, now: float, effects: list[Effect]
) -> None:
    environment = named(state, event.name)
    if event.status is EnvironmentStatus.ARCHIVED:
        children = [
            e.name
            for e in state.environments.values()
            if e.base_id == environment.id and e.status is not EnvironmentStatus.ARCHIVED
        ]
        if children:
            raise Conflict(
                "environment_has_children",
                f"environment '{environment.name}' is the base of {', '.join(sorted(children))}; "
                "re-base or archive those first",
            )
    environment.status = event.status
    _record(environment, now, effects)


def check_target_name(repository: str, target: str) -> None:
    if not REPOSITORY_PATTERN.fullmatch(repository):
        raise BadRequest("invalid_repository", f"invalid repository name {repository!r}")
    if not TARGET_PATTERN.fullmatch(target):
        raise BadRequest("invalid_target", f"invalid target name {target!r}")


def _check_manifest(manifest: protocol.Manifest) -> None:
    if not REPOSITORY_PATTERN.fullmatch(manifest.repository):
        raise BadRequest("invalid_repository", f"invalid repository name {manifest.repository!r}")
    seen: set[str] = set()
    for target in manifest.targets:
        if not TARGET_PATTERN.fullmatch(target.name):
            raise BadRequest("invalid_target", f"invalid target name {target.name!r}")
        if target.name in seen:
            raise BadRequest(
                "duplicate_target",
                f"repository '{manifest.repository}' defines '{target.name}' twice",
            )
        seen.add(target.name)


def register_manifests(
    state: ProjectState, event: RegisterManifests, now: float, effects: list[Effect]
) -> None:
    environment = named(state, event.environment)
    if environment.status is EnvironmentStatus.ARCHIVED:
        raise Conflict("environment_archived", f"environment '{event.environment}' is archived")
    for manifest in event.manifests:
        _check_manifest(manifest)
    for manifest in event.manifests:
        key = (environment.id, manifest.repository)
        if state.manifests.get(key) == manifest:
            continue  # unchanged: an agent restarting records nothing new
        state.manifests[key] = manifest
        effects.append(ManifestRegistered(environment.id, manifest, now))
