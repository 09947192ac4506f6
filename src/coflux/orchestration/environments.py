"""Environments and their manifests, inside the pure core.

Environments form a forest by ``base``: creating, renaming, re-basing (never into
a cycle), pausing, resuming and archiving one are validated here before anything
changes. Manifests (the targets each repository defines) are kept per environment.

The default environment (``production``, the CLI's default) is created by its
first use (an agent connecting to it, manifests registered or a run submitted in
it: ``created_on_first_use``); any other is created only when asked, and every
refusal naming a missing one says how to create it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

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
from coflux.suggestions import did_you_mean

DEFAULT_ENVIRONMENT = "production"

# Always ``fullmatch``: with ``match``, "abc\n" passes (``$`` matches before a final newline).
NAME_PATTERN = re.compile(protocol.NAME_PATTERN)
REPOSITORY_PATTERN = re.compile(protocol.REPOSITORY_PATTERN)
TARGET_PATTERN = re.compile(protocol.TARGET_PATTERN)


def unknown(name: str) -> NotFound:
    """The refusal of an environment that does not exist, saying how it comes to."""
    if name == DEFAULT_ENVIRONMENT:
        how = (
            "it is created when an agent connects to it or a run is submitted to it"
            f" (or now: coflux environments create {name})"
        )
        return NotFound("unknown_environment", f"environment '{name}' does not exist yet: {how}")
    return NotFound(
        "unknown_environment",
        f"environment '{name}' does not exist: create it with: coflux environments create {name}",
    )


def named(state: ProjectState, name: str) -> Environment:
    environment = state.environment_named(name)
    if environment is None:
        raise unknown(name)
    return environment


def created_on_first_use(state: ProjectState, name: str) -> bool:
    """Whether using ``name`` should create it first: it is the default environment
    and no environment holds that name (an archived one gave its name up)."""
    return name == DEFAULT_ENVIRONMENT and state.environment_named(name) is None


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


def target_definition(
    manifests: Mapping[str, protocol.Manifest],
    environment: str,
    repository: str,
    target: str,
    kind: Literal["workflow", "sensor"],
) -> protocol.TargetDefinition:
    """The definition of ``repository``'s ``kind`` named ``target``, from the
    environment's manifests (by repository).

    Raises:
        NotFound: no such repository or target: the message suggests the name
            probably meant, or says what the target is if it is not a ``kind``.
    """
    manifest = manifests.get(repository)
    if manifest is None:
        registered = sorted(manifests)
        hint = did_you_mean(repository, registered)
        if not hint:
            hint = (
                f" (registered there: {', '.join(registered)})"
                if registered
                else " (nothing is registered there yet: start an agent with --register"
                " or --dev, or run coflux register)"
            )
        raise NotFound(
            "unknown_repository",
            f"repository '{repository}' is not registered in environment '{environment}'{hint}",
        )
    definition = next((t for t in manifest.targets if t.name == target), None)
    if definition is not None and definition.type != kind:
        raise NotFound("unknown_target", _not_a(target, definition.type, kind))
    if definition is None:
        of_kind = [t.name for t in manifest.targets if t.type == kind]
        raise NotFound(
            "unknown_target",
            f"no {kind} '{target}' in repository '{repository}'{did_you_mean(target, of_kind)}",
        )
    return definition


_HOW_TO_START: Mapping[protocol.TargetType, str] = {
    "task": "tasks run only when called from a workflow",
    "workflow": "start it with coflux submit",
    "sensor": "start it with coflux sensors start",
}


def _not_a(target: str, actual: protocol.TargetType, kind: str) -> str:
    """Why a target of another type cannot be started as a ``kind``."""
    return f"'{target}' is a {actual}, not a {kind}: {_HOW_TO_START[actual]}"
