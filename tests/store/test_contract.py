"""The contract every ``ProjectStore`` backend meets, driven only through the interface.

Facts go in through ``append``; everything is checked through the read methods,
so the same tests hold for any backend (see ``backends.BACKENDS``).
"""

from __future__ import annotations

import msgspec
import pytest

from coflux import protocol
from coflux.orchestration.effects import Fact
from coflux.orchestration.states import EnvironmentStatus, ExecutionState
from coflux.store.base import ProjectStore
from coflux.views import EnvironmentView, ProjectInfo, RunOutline, TransitionView
from tests.store.backends import Backend
from tests.store.facts import (
    ENV,
    T0,
    attempt,
    environment,
    fail,
    finished_run,
    logs,
    outcome,
    register,
    start_run,
    step,
    succeed,
    transition,
    value,
)

Q = ExecutionState
DEV = "env-dev"


def test_info(store: ProjectStore) -> None:
    assert store.info() == ProjectInfo(id="p1", name="demo", created_at=T0)


def test_empty_store(store: ProjectStore) -> None:
    snapshot = store.load_snapshot()
    assert (snapshot.environments, snapshot.manifests, snapshot.runs) == ([], [], [])
    assert (snapshot.executions, snapshot.calls) == ([], [])
    assert store.list_environments() == []
    assert store.list_runs() == []
    assert store.get_run("nope") is None
    assert store.get_run_outline("nope") is None
    assert store.get_outcome("nope:1:1") is None
    assert store.run_of_execution("nope:1:1") is None
    assert store.find_run_by_idempotency_key("k") is None
    assert store.list_logs("nope") == []
    store.append([])  # an empty batch is fine


# --- environments ---------------------------------------------------------------


def test_environments_rename_rebase_and_status(store: ProjectStore) -> None:
    store.append([environment(), environment(DEV, "dev", T0 + 1, base_id=ENV)])
    assert store.list_environments() == [
        EnvironmentView(
            id=ENV, name="production", base=None, status="active", created_at=T0, updated_at=T0
        ),
        EnvironmentView(
            id=DEV,
            name="dev",
            base="production",
            status="active",
            created_at=T0 + 1,
            updated_at=T0 + 1,
        ),
    ]
    # Renaming the base shows in the child: `base` is the base's current name.
    store.append([environment(ENV, "prod", T0 + 2)])
    prod, dev = store.list_environments()
    assert (prod.name, prod.created_at, prod.updated_at) == ("prod", T0, T0 + 2)
    assert dev.base == "prod"

    store.append([environment(DEV, "dev", T0 + 3, status=EnvironmentStatus.PAUSED)])
    store.append([environment(DEV, "dev-2", T0 + 4, base_id=None)])
    store.append([environment(ENV, "prod", T0 + 5, status=EnvironmentStatus.ARCHIVED)])
    prod, dev = store.list_environments()
    assert (dev.name, dev.base, dev.status, dev.updated_at) == ("dev-2", None, "active", T0 + 4)
    assert (prod.status, prod.updated_at) == ("archived", T0 + 5)  # archived ones are listed

    # The snapshot carries the latest record of each environment.
    assert store.load_snapshot().environments == [
        environment(ENV, "prod", T0 + 5, status=EnvironmentStatus.ARCHIVED),
        environment(DEV, "dev-2", T0 + 4),
    ]


# --- manifests ------------------------------------------------------------------


def test_manifests_latest_per_repository(store: ProjectStore) -> None:
    store.append([environment(), environment(DEV, "dev", T0)])
    store.append([register("tools", "clean"), register("flows", "main", "other")])
    assert store.list_manifests(ENV) == [
        register("flows", "main", "other").manifest,
        register("tools", "clean").manifest,
    ]
    assert store.list_manifests(DEV) == []

    # A new registration replaces the repository's manifest; an empty one removes it.
    store.append([register("flows", "main", at=T0 + 1), register("tools", at=T0 + 1)])
    assert store.list_manifests(ENV) == [register("flows", "main").manifest]
    assert store.load_snapshot().manifests == [(ENV, register("flows", "main").manifest)]


def test_same_manifest_registered_again_is_returned(store: ProjectStore) -> None:
    store.append([environment(), environment(DEV, "dev", T0)])
    first = register("flows", "main", "other")
    store.append([first, register("flows", "main", env_id=DEV)])
    store.append([register("flows", "main", at=T0 + 1)])
    # Back to the first content (stored once, registered again) in the same batch
    # as a repeat of it: the latest registration wins either way.
    store.append([register("flows", "main", "other", at=T0 + 2), first])
    assert store.list_manifests(ENV) == [first.manifest]
    assert store.list_manifests(DEV) == [register("flows", "main").manifest]


# --- runs -------------------------------------------------------------------------


def test_get_run_reads_back_steps_executions_and_times(store: ProjectStore) -> None:
    store.append(finished_run())
    run = store.get_run("R1")
    assert run is not None
    assert (run.id, run.environment, run.repository, run.target) == (
        "R1",
        "production",
        "flows",
        "main",
    )
    assert (run.state, run.created_at, run.completed_at) == ("succeeded", T0, T0 + 8)
    assert [s.id for s in run.steps] == ["R1:1", "R1:2"]

    root, task = run.steps
    assert (root.number, root.type, root.parent_execution, root.call_index) == (
        1,
        "workflow",
        None,
        None,
    )
    assert root.arguments == [value(1), value("a")]
    assert (task.parent_execution, task.call_index, task.created_at) == ("R1:1:1", 0, T0 + 2)
    assert task.arguments == [value(2)]

    (root_execution,) = root.executions
    assert root_execution.outcome == protocol.Succeeded(value=value("done"))
    assert root_execution.transitions == [
        TransitionView(state="queued", at=T0),
        TransitionView(state="assigned", at=T0 + 1, session_id="s1"),
        TransitionView(state="succeeded", at=T0 + 8, session_id="s1"),
    ]

    failed, retried = task.executions
    assert (failed.id, failed.attempt, failed.state) == ("R1:2:1", 1, "failed")
    assert (failed.created_at, failed.assigned_at, failed.completed_at) == (T0 + 2, T0 + 3, T0 + 4)
    assert isinstance(failed.outcome, protocol.Failed)
    assert failed.outcome.error.message == "boom"
    assert (retried.id, retried.attempt, retried.state) == ("R1:2:2", 2, "succeeded")
    assert (retried.assigned_at, retried.completed_at) == (T0 + 6, T0 + 7)
    assert (retried.session_id, retried.environment) == ("s1", "production")
    assert retried.outcome == protocol.Succeeded(value=value(42))


def test_unfinished_execution_has_no_completion(store: ProjectStore) -> None:
    store.append([environment(), *start_run("R1", T0)])
    run = store.get_run("R1")
    assert run is not None
    (execution,) = run.steps[0].executions
    assert (execution.state, execution.assigned_at, execution.completed_at) == (
        "queued",
        None,
        None,
    )
    assert (execution.session_id, execution.outcome) == (None, None)
    assert (run.state, run.completed_at) == ("queued", None)
    store.append([transition("R1:1:1", Q.ASSIGNED, T0 + 1, "s9")])
    run = store.get_run("R1")
    assert run is not None
    assert (run.state, run.steps[0].executions[0].session_id) == ("assigned", "s9")


def test_run_state_follows_latest_attempt_of_first_step(store: ProjectStore) -> None:
    store.append([environment(), environment(DEV, "dev", T0), *start_run("R1", T0)])
    store.append(fail("R1:1:1", T0 + 1))
    assert store.list_runs()[0].state == "failed"
    # A re-run of the first step, in a child environment: the run is live again.
    store.append(attempt("R1:1", 2, T0 + 10, env_id=DEV))
    (summary,) = store.list_runs()
    assert (summary.state, summary.completed_at) == ("queued", None)
    run = store.get_run("R1")
    assert run is not None
    assert [e.environment for e in run.steps[0].executions] == ["production", "dev"]
    store.append(succeed("R1:1:2", T0 + 11))
    (summary,) = store.list_runs()
    assert (summary.state, summary.completed_at) == ("succeeded", T0 + 12)


def test_views_show_current_environment_names(store: ProjectStore) -> None:
    store.append([environment(), *start_run("R1", T0)])
    store.append([environment(ENV, "renamed", T0 + 1)])
    run = store.get_run("R1")
    assert run is not None
    assert run.environment == run.steps[0].executions[0].environment == "renamed"
    assert store.list_runs()[0].environment == "renamed"


def test_list_runs_filters_orders_and_limits(store: ProjectStore) -> None:
    store.append([environment(), environment(DEV, "dev", T0)])
    store.append(start_run("A", T0 + 1, target="main"))
    store.append(start_run("B", T0 + 2, target="other"))
    store.append(start_run("C", T0 + 3, target="main", env_id=DEV))
    store.append(start_run("D", T0 + 3, repository="tools", target="main"))
    store.append(succeed("A:1:1", T0 + 4))

    assert [r.id for r in store.list_runs()] == ["D", "C", "B", "A"]  # ties: later first
    assert [r.id for r in store.list_runs(limit=2)] == ["D", "C"]
    assert [r.id for r in store.list_runs(repository="flows", target="main")] == ["C", "A"]
    assert [r.id for r in store.list_runs(environment_id=ENV)] == ["D", "B", "A"]
    assert [r.id for r in store.list_runs(environment_id=DEV, target="main")] == ["C"]
    assert store.list_runs(repository="nothing") == []
    a = store.list_runs(target="main", environment_id=ENV, repository="flows")
    assert [(r.id, r.state, r.completed_at, r.created_at) for r in a] == [
        ("A", "succeeded", T0 + 5, T0 + 1)
    ]


def test_transitions_are_listed_in_the_order_recorded_even_if_the_clock_stepped_back(
    store: ProjectStore,
) -> None:
    store.append([environment(), *start_run("R1", T0)])
    assigned, succeeded = T0 + 5.123456789, T0 + 4.000001  # every digit must survive
    store.append([transition("R1:1:1", Q.ASSIGNED, assigned, "s1")])
    store.append([transition("R1:1:1", Q.SUCCEEDED, succeeded)])  # the clock went back
    run = store.get_run("R1")
    assert run is not None
    (execution,) = run.steps[0].executions
    assert [t.state for t in execution.transitions] == ["queued", "assigned", "succeeded"]
    assert [t.at for t in execution.transitions][1:] == [assigned, succeeded]
    assert (execution.state, execution.completed_at) == ("succeeded", succeeded)
    assert (execution.assigned_at, execution.session_id) == (assigned, "s1")


def outline_of(store: ProjectStore, run_id: str) -> RunOutline:
    """The run's full view with the values and transitions left out."""
    view = store.get_run(run_id)
    assert view is not None
    return msgspec.json.decode(msgspec.json.encode(view), type=RunOutline)


@pytest.mark.parametrize(
    "batches",
    [
        [finished_run()],  # retried, finished
        [[environment(), *start_run("R1", T0)]],  # queued
        [[environment(), *start_run("R1", T0)], [transition("R1:1:1", Q.ASSIGNED, T0 + 1, "s9")]],
        [[environment(), *start_run("R1", T0)], fail("R1:1:1", T0 + 1)],
        # A re-run in another environment, which is then renamed.
        [
            [environment(), environment(DEV, "dev", T0), *start_run("R1", T0)],
            succeed("R1:1:1", T0 + 1),
            attempt("R1:1", 2, T0 + 10, env_id=DEV),
            [environment(DEV, "renamed", T0 + 11)],
        ],
    ],
    ids=["finished", "queued", "assigned", "failed", "rerun-renamed"],
)
def test_a_run_outline_is_its_view_without_values(
    store: ProjectStore, batches: list[list[Fact]]
) -> None:
    for batch in batches:
        store.append(batch)
    outline = store.get_run_outline("R1")
    assert outline == outline_of(store, "R1")
    assert outline is not None and outline.steps  # and it is not empty


def test_a_run_outline_lists_a_step_before_its_first_execution(store: ProjectStore) -> None:
    store.append([environment(), *start_run("R1", T0)])
    store.append(step("R1", 2, T0 + 1, parent="R1:1:1", call_index=0)[:1])  # no execution yet
    outline = store.get_run_outline("R1")
    assert outline is not None
    assert [(s.id, len(s.executions)) for s in outline.steps] == [("R1:1", 1), ("R1:2", 0)]
    assert outline == outline_of(store, "R1")


def test_a_run_summary_matches_its_listing_and_reads_no_steps(store: ProjectStore) -> None:
    store.append([environment(), *start_run("A", T0 + 1), *start_run("B", T0 + 2)])
    assert store.get_run_summary("A") == store.list_runs(limit=10)[1]
    assert store.get_run_summary("nope") is None
    store.append(succeed("A:1:1", T0 + 4))
    summary = store.get_run_summary("A")
    assert summary is not None
    assert (summary.id, summary.state, summary.completed_at) == ("A", "succeeded", T0 + 5)


def test_point_lookups(store: ProjectStore) -> None:
    store.append(finished_run())
    assert store.run_of_execution("R1:2:2") == "R1"
    assert store.get_outcome("R1:2:2") == protocol.Succeeded(value=value(42))
    assert store.get_outcome("R1:2:1") == protocol.Failed(
        error=protocol.ErrorInfo(type="ValueError", message="boom", traceback="Traceback...")
    )
    store.append([*attempt("R1:2", 3, T0 + 20), transition("R1:2:3", Q.CANCELLED, T0 + 21)])
    assert store.get_outcome("R1:2:3") is None
    store.append([outcome("R1:2:3", protocol.Cancelled(), T0 + 21)])
    assert store.get_outcome("R1:2:3") == protocol.Cancelled()


def test_idempotency_key(backend: Backend, store: ProjectStore) -> None:
    store.append([environment(), *start_run("R1", T0, key="order-7"), *start_run("R2", T0)])
    assert store.find_run_by_idempotency_key("order-7") == "R1"
    assert store.find_run_by_idempotency_key("order-8") is None
    with pytest.raises(backend.integrity_error):
        store.append(start_run("R3", T0 + 1, key="order-7"))
    assert store.get_run("R3") is None
    assert store.find_run_by_idempotency_key("order-7") == "R1"


def test_resent_call_is_refused(backend: Backend, store: ProjectStore) -> None:
    """(parent execution, call index) names one step: a second one is an error."""
    store.append([environment(), *start_run("R1", T0)])
    store.append(step("R1", 2, T0 + 1, parent="R1:1:1", call_index=0))
    with pytest.raises(backend.integrity_error):
        store.append(step("R1", 3, T0 + 2, parent="R1:1:1", call_index=0))
    run = store.get_run("R1")
    assert run is not None
    assert len(run.steps) == 2


# --- logs -----------------------------------------------------------------------


def test_logs_cursor_and_filters(store: ProjectStore) -> None:
    store.append([environment(), *start_run("R1", T0), *step("R1", 2, T0), *start_run("R2", T0)])
    store.append(
        [
            logs(
                ("R1:1:1", "one", T0 + 1),
                ("R2:1:1", "other run", T0 + 1),
                ("R1:2:1", "two", T0 + 2),
            ),
            logs(("R1:1:1", "three {n}", T0 + 3), level="error"),
        ]
    )
    entries = store.list_logs("R1")
    assert [e.template for e in entries] == ["one", "two", "three {n}"]
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    first = entries[0]
    assert (first.run_id, first.execution_id, first.timestamp, first.level) == (
        "R1",
        "R1:1:1",
        T0 + 1,
        "info",
    )
    assert first.values == {"n": value(0)}
    assert (entries[2].level, entries[2].values) == ("error", {"n": value(0)})

    # `after` is exclusive: passing the last id seen gives only newer entries.
    assert [e.template for e in store.list_logs("R1", after=entries[0].id)] == ["two", "three {n}"]
    assert store.list_logs("R1", after=entries[-1].id) == []
    assert [e.template for e in store.list_logs("R1", limit=2)] == ["one", "two"]
    assert [e.template for e in store.list_logs("R1", execution_id="R1:1:1")] == [
        "one",
        "three {n}",
    ]
    only = store.list_logs("R1", execution_id="R1:1:1", after=entries[0].id)
    assert [e.template for e in only] == ["three {n}"]
    assert store.list_logs("R1", execution_id="R2:1:1") == []
    assert [e.template for e in store.list_logs("R2")] == ["other run"]

    # New entries come after the cursor.
    store.append([logs(("R1:2:1", "four", T0 + 4))])
    assert [e.template for e in store.list_logs("R1", after=entries[-1].id)] == ["four"]
