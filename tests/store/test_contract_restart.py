"""The core across a restart: facts written by each backend, state restored from it.

Each test drives the pure core (the ``Harness`` of the unit tests), appends every
fact it records to a real store, then "restarts": the state is rebuilt only from
the store's snapshot, as a server does after ``kill -9``, and the run carries on.
What these tests pin is that nothing the core relies on lived only in memory.
"""

from __future__ import annotations

import pytest

from coflux import protocol as P
from coflux.orchestration import events as ev
from coflux.orchestration.effects import Effect, Fact, OutcomeRecorded, ReadOutcome
from coflux.orchestration.recovery import restore
from coflux.orchestration.states import ExecutionState
from coflux.store.base import ProjectStore
from tests.store.backends import Backend
from tests.unit.test_core import Harness, messages, results, states, submission, value

S = ExecutionState
CACHE = P.CacheOptions()


class DurableHarness(Harness):
    """A ``Harness`` whose facts are appended to a store, one batch per event."""

    def __init__(self, store: ProjectStore) -> None:
        super().__init__()
        self.store = store

    def apply(self, event: ev.Event) -> list[Effect]:
        effects = super().apply(event)
        self.store.append([e for e in effects if isinstance(e, Fact)])
        return effects

    def restart(self, backend: Backend) -> None:
        """Forget everything in memory and rebuild it from the reopened store."""
        self.store = backend.reopen(self.store)
        self.now += 1
        snapshot = self.store.load_snapshot()
        self.state = restore(snapshot, session_timeout=10.0, now=self.now)

    def ask(self, session: str, request_id: int, execution_id: str, parent: str) -> list[Effect]:
        request = P.GetResult(
            request_id=request_id, execution_id=execution_id, from_execution_id=parent
        )
        return self.apply(ev.RequestResult(session, request))


@pytest.fixture
def h(backend: Backend) -> DurableHarness:
    harness = DurableHarness(backend.create())
    harness.setup()
    return harness


def resume(h: DurableHarness, session: str, *executing: str) -> str:
    resumed, _ = h.connect(session_id=session, executing=executing, concurrency=8)
    assert resumed == session
    return resumed


def test_a_spawned_workflow_is_still_followed_after_a_restart(
    h: DurableHarness, backend: Backend
) -> None:
    session, _ = h.connect(concurrency=8)
    h.submit("r1")
    workflow_call = submission("r1:1:1", 0, request_id=1, target="greet", type="workflow")
    effects = h.apply(ev.ScheduleStep(session, workflow_call, "r2"))
    assert ("r1:2:1", S.SPAWNED) in states(effects)
    h.restart(backend)
    session = resume(h, session, "r1:1:1", "r2:1:1")
    # The caller asks again for what it called (the resend after a reconnect).
    effects = h.ask(session, 7, "r1:2:1", "r1:1:1")
    assert not [e for e in effects if isinstance(e, ReadOutcome)]  # not "does not exist"
    effects = h.complete(session, "r2:1:1", "spawned")
    outcome = P.Succeeded(value("spawned"))
    assert results(effects) == [P.ResultReady(7, "r2:1:1", outcome)]
    assert OutcomeRecorded("r1:2:1", "r1", outcome, h.now) in effects
    assert h.store.get_outcome("r1:2:1") == outcome
    # Once the caller ends too, nothing is left waiting in memory.
    h.complete(session, "r1:1:1")
    assert h.state.runs == {}


def test_a_cache_hit_on_a_running_execution_is_still_followed_after_a_restart(
    h: DurableHarness, backend: Backend
) -> None:
    session, _ = h.connect(concurrency=8)
    h.submit("r1")
    first = submission("r1:1:1", 0, request_id=1, cache=CACHE)
    h.apply(ev.ScheduleStep(session, first, lookups=ev.Lookups()))
    effects = h.apply(ev.ScheduleStep(session, submission("r1:1:1", 1, request_id=2, cache=CACHE)))
    assert ("r1:3:1", S.CACHED) in states(effects)
    h.restart(backend)
    session = resume(h, session, "r1:1:1", "r1:2:1")
    effects = h.ask(session, 8, "r1:3:1", "r1:1:1")
    assert not [e for e in effects if isinstance(e, ReadOutcome)]
    effects = h.complete(session, "r1:2:1", "LOUD")
    outcome = P.Succeeded(value("LOUD"))
    assert P.ResultReady(8, "r1:2:1", outcome) in results(effects)
    assert h.store.get_outcome("r1:3:1") == outcome


def test_a_cache_hit_on_a_retried_leader_follows_the_retry_after_a_restart(
    h: DurableHarness, backend: Backend
) -> None:
    session, _ = h.connect(concurrency=8)
    h.submit("r1")
    retried = P.RetryOptions(limit=1)
    first = submission("r1:1:1", 0, request_id=1, cache=CACHE, retries=retried)
    h.apply(ev.ScheduleStep(session, first, lookups=ev.Lookups()))
    second = submission("r1:1:1", 1, request_id=2, cache=CACHE, retries=retried)
    h.apply(ev.ScheduleStep(session, second))
    failed = P.Failed(P.ErrorInfo(type="builtins.ValueError", message="flaky"))
    effects = h.apply(ev.CompleteExecution(session, "r1:2:1", failed))
    assert ("r1:2:2", S.ASSIGNED) in states(effects)  # the leader's retry
    h.restart(backend)
    session = resume(h, session, "r1:1:1", "r1:2:2")
    h.ask(session, 9, "r1:3:1", "r1:1:1")
    effects = h.complete(session, "r1:2:2", "second time")
    outcome = P.Succeeded(value("second time"))
    assert P.ResultReady(9, "r1:2:2", outcome) in results(effects)
    assert h.store.get_outcome("r1:3:1") == outcome


def test_a_deferred_call_is_still_replaced_and_followed_after_a_restart(
    h: DurableHarness, backend: Backend
) -> None:
    session, _ = h.connect(concurrency=8)
    h.submit("r1")
    deferrable = {"defer": P.DeferOptions(), "delay": 10}
    h.apply(ev.ScheduleStep(session, submission("r1:1:1", 0, request_id=1, **deferrable)))
    h.apply(ev.ScheduleStep(session, submission("r1:1:1", 1, request_id=2, **deferrable)))
    assert h.state.executions["r1:2:1"].state is S.DEFERRED
    h.restart(backend)
    session = resume(h, session, "r1:1:1")
    # A newer equal call after the restart still replaces the queued one.
    effects = h.apply(ev.ScheduleStep(session, submission("r1:1:1", 2, request_id=3, **deferrable)))
    assert ("r1:3:1", S.DEFERRED) in states(effects)
    for request_id, execution_id in ((11, "r1:2:1"), (12, "r1:3:1")):
        assert not [
            e
            for e in h.ask(session, request_id, execution_id, "r1:1:1")
            if isinstance(e, ReadOutcome)
        ]
    h.now += 10
    effects = h.apply(ev.Tick())
    assert ("r1:4:1", S.ASSIGNED) in states(effects)
    effects = h.complete(session, "r1:4:1", "once")
    outcome = P.Succeeded(value("once"))
    # Waiters live in memory: the agent asked again (11, 12) for what it waited on.
    heard = {(m.request_id, m.outcome) for m in messages(effects, P.ResultReady)}
    assert heard == {(11, outcome), (12, outcome), (3, outcome)}
    for execution_id in ("r1:2:1", "r1:3:1", "r1:4:1"):
        assert h.store.get_outcome(execution_id) == outcome


def test_concurrent_equal_calls_still_share_one_execution_after_a_restart(
    h: DurableHarness, backend: Backend
) -> None:
    session, _ = h.connect(concurrency=8)
    h.submit("r1")
    h.apply(
        ev.ScheduleStep(
            session, submission("r1:1:1", 0, request_id=1, cache=CACHE), lookups=ev.Lookups()
        )
    )
    h.restart(backend)
    session = resume(h, session, "r1:1:1", "r1:2:1")
    # The running execution with that key is in memory again: no look-up, a hit.
    effects = h.apply(ev.ScheduleStep(session, submission("r1:1:1", 1, request_id=2, cache=CACHE)))
    assert states(effects) == [("r1:3:1", S.QUEUED), ("r1:3:1", S.CACHED)]


def test_a_stand_in_leaves_the_snapshot_with_its_outcome(
    h: DurableHarness, backend: Backend
) -> None:
    session, _ = h.connect(concurrency=8)
    h.submit("r1")
    workflow_call = submission("r1:1:1", 0, request_id=1, target="greet", type="workflow")
    h.apply(ev.ScheduleStep(session, workflow_call, "r2"))
    snapshot = h.store.load_snapshot()
    spawned = next(e for e in snapshot.executions if e.execution_id == "r1:2:1")
    assert (spawned.state, spawned.leader_id) == (S.SPAWNED, "r2:1:1")
    h.complete(session, "r2:1:1")
    assert "r1:2:1" not in {e.execution_id for e in h.store.load_snapshot().executions}


def test_an_execution_waiting_for_its_arguments_still_waits_after_a_restart(
    h: DurableHarness, backend: Backend
) -> None:
    session, _ = h.connect(concurrency=8)
    h.submit("r1")
    h.apply(ev.ScheduleStep(session, submission("r1:1:1", 0, request_id=1)))
    handle = P.Value(format="json", data=None, executions=("r1:2:1",))
    waiting = submission("r1:1:1", 1, request_id=2, arguments=(handle,), wait=(0,))
    assert ("r1:3:1", S.ASSIGNED) not in states(h.apply(ev.ScheduleStep(session, waiting)))
    h.restart(backend)
    session = resume(h, session, "r1:1:1", "r1:2:1")
    assert h.state.executions["r1:3:1"].state is S.QUEUED  # not assigned on resuming
    effects = h.complete(session, "r1:2:1", "ready")
    assert ("r1:3:1", S.ASSIGNED) in states(effects)
