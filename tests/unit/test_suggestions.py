"""Refusals that say what to do: did-you-mean suggestions for repositories and
targets, a task or sensor submitted as a workflow, and missing environments
(the default one is created by its first use, any other names its command)."""

from __future__ import annotations

from typing import Literal

import pytest

from coflux import protocol
from coflux.errors import NotFound
from coflux.orchestration import environments
from coflux.orchestration.model import Environment, ProjectState
from coflux.orchestration.states import EnvironmentStatus
from coflux.suggestions import closest, did_you_mean

HELLO = protocol.Manifest(
    repository="hello",
    targets=(
        protocol.TargetDefinition(name="print_greeting", type="workflow"),
        protocol.TargetDefinition(name="print_farewell", type="workflow"),
        protocol.TargetDefinition(name="build_greeting", type="task"),
        protocol.TargetDefinition(name="watch_inbox", type="sensor"),
    ),
)
MANIFESTS = {"hello": HELLO, "billing.flows": protocol.Manifest(repository="billing.flows")}


@pytest.mark.parametrize(
    ("typed", "known", "expected"),
    [
        ("print_greting", ["print_greeting", "build_greeting"], "print_greeting"),
        ("hellp", ["hello", "billing.flows"], "hello"),
        ("Hello", ["hello"], "hello"),  # case aside
        ("x", ["hello"], None),
        ("hello", [], None),
    ],
)
def test_closest_is_the_most_similar_known_name_if_any_is_similar(
    typed: str, known: list[str], expected: str | None
) -> None:
    assert closest(typed, known) == expected
    hint = did_you_mean(typed, known)
    assert hint == (f"; did you mean '{expected}'?" if expected else "")


def refusal(repository: str, target: str, kind: Literal["workflow", "sensor"] = "workflow") -> str:
    with pytest.raises(NotFound) as refused:
        environments.target_definition(MANIFESTS, "production", repository, target, kind)
    assert refused.value.reason in ("unknown_repository", "unknown_target")
    return refused.value.message


@pytest.mark.parametrize(
    ("repository", "target", "kind", "message"),
    [
        ("hello", "print_greting", "workflow",
         "no workflow 'print_greting' in repository 'hello'; did you mean 'print_greeting'?"),
        ("hello", "shout", "workflow", "no workflow 'shout' in repository 'hello'"),
        ("hellp", "print_greeting", "workflow",
         "repository 'hellp' is not registered in environment 'production';"
         " did you mean 'hello'?"),
        ("shop", "main", "workflow",
         "repository 'shop' is not registered in environment 'production'"
         " (registered there: billing.flows, hello)"),
        ("hello", "build_greeting", "workflow",
         "'build_greeting' is a task, not a workflow: tasks run only when called from a workflow"),
        ("hello", "watch_inbox", "workflow",
         "'watch_inbox' is a sensor, not a workflow: start it with coflux sensors start"),
        ("hello", "print_greeting", "sensor",
         "'print_greeting' is a workflow, not a sensor: start it with coflux submit"),
        ("hello", "watch_inbx", "sensor",
         "no sensor 'watch_inbx' in repository 'hello'; did you mean 'watch_inbox'?"),
    ],
)  # fmt: skip
def test_a_missing_target_is_refused_with_what_was_probably_meant(
    repository: str, target: str, kind: Literal["workflow", "sensor"], message: str
) -> None:
    assert refusal(repository, target, kind) == message


def test_an_empty_environment_says_how_repositories_get_registered() -> None:
    with pytest.raises(NotFound) as refused:
        environments.target_definition({}, "production", "hello", "print_greeting", "workflow")
    assert refused.value.message == (
        "repository 'hello' is not registered in environment 'production' (nothing is"
        " registered there yet: start an agent with --register or --dev, or run coflux register)"
    )


def test_a_present_target_of_the_right_kind_is_found() -> None:
    found = environments.target_definition(
        MANIFESTS, "production", "hello", "print_greeting", "workflow"
    )
    assert found.name == "print_greeting"


def test_a_missing_environment_says_how_it_comes_to_exist() -> None:
    staging = environments.unknown("staging")
    assert (staging.status, staging.reason) == (404, "unknown_environment")
    assert staging.message == (
        "environment 'staging' does not exist: create it with: coflux environments create staging"
    )
    assert "created when an agent connects to it" in environments.unknown("production").message


def test_only_the_default_environment_is_created_on_first_use() -> None:
    state = ProjectState(session_timeout=30.0)
    assert environments.created_on_first_use(state, "production")
    assert not environments.created_on_first_use(state, "staging")
    state.environments["e1"] = Environment("e1", "production", None, EnvironmentStatus.ACTIVE)
    assert not environments.created_on_first_use(state, "production")
    # An archived environment gave its name up: the next use creates a new one.
    state.environments["e1"].status = EnvironmentStatus.ARCHIVED
    assert environments.created_on_first_use(state, "production")
