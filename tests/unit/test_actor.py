"""The project actor: group commit, effects only after commit, refusals isolated."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from coflux import protocol as P
from coflux.errors import Conflict, NotFound
from coflux.orchestration import events as ev
from coflux.orchestration.actor import ExistingRun, ProjectActor
from coflux.orchestration.effects import Fact
from coflux.orchestration.model import ProjectState


class FakeStore:
    """Records appends; answers the two look-ups the actor makes."""

    inline_commit_limit = 64

    def __init__(self, log: list[str]) -> None:
        self.batches: list[list[Fact]] = []
        self.outcomes: dict[str, P.Outcome] = {}
        self.keys: dict[str, str] = {}
        self._log = log

    def append(self, facts: Sequence[Fact]) -> None:
        self._log.append(f"append {len(facts)}")
        self.batches.append(list(facts))

    def get_step_outcome(self, execution_id: str) -> P.Outcome | None:
        return self.outcomes.get(execution_id)

    def find_run_by_idempotency_key(self, key: str) -> str | None:
        return self.keys.get(key)


class Fixture:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.store = FakeStore(self.log)
        self.sent: list[tuple[str, P.ServerMessage]] = []
        self.published: list[Sequence[Fact]] = []
        self.actor = ProjectActor(
            self.store,  # type: ignore[arg-type]
            ProjectState(session_timeout=5),
            clock=lambda: 100.0,
            send=self.send,
            publish=self.published.append,
        )

    def send(self, session_id: str, message: P.ServerMessage) -> None:
        self.log.append(f"send {type(message).__name__}")
        self.sent.append((session_id, message))


@pytest.fixture
def fx() -> Fixture:
    return Fixture()


async def running(fx: Fixture) -> asyncio.Task[None]:
    return asyncio.create_task(fx.actor.run())


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_burst_of_events_is_committed_in_one_transaction(fx: Fixture) -> None:
    calls = [fx.actor.call(ev.CreateEnvironment(f"e{n}", f"env{n}", None)) for n in range(50)]
    pending = [asyncio.ensure_future(c) for c in calls]
    await asyncio.sleep(0)  # every call is queued before the actor starts
    task = await running(fx)
    await asyncio.gather(*pending)
    await stop(task)
    assert [len(batch) for batch in fx.store.batches] == [50]
    assert fx.published == fx.store.batches


async def test_a_refused_event_fails_only_its_caller(fx: Fixture) -> None:
    task = await running(fx)
    good = asyncio.ensure_future(fx.actor.call(ev.CreateEnvironment("e1", "prod", None)))
    bad = asyncio.ensure_future(fx.actor.call(ev.CreateEnvironment("e2", "prod", None)))
    other = asyncio.ensure_future(fx.actor.call(ev.CreateEnvironment("e3", "dev", None)))
    await good
    with pytest.raises(Conflict):
        await bad
    await other
    await stop(task)
    names = [f.name for batch in fx.store.batches for f in batch]  # type: ignore[attr-defined]
    assert names == ["prod", "dev"]


async def test_messages_are_sent_only_after_their_facts_are_committed(fx: Fixture) -> None:
    task = await running(fx)
    await fx.actor.call(ev.CreateEnvironment("e1", "production", None))
    hello = P.Hello(protocol_version=1, project="p", environment="production")
    await fx.actor.call(ev.ConnectSession("s1", 1, "production", hello))
    await stop(task)
    assert fx.log == ["append 1", "append 1", "send Welcome"]


async def test_waiting_for_an_outcome_times_out_with_none(fx: Fixture) -> None:
    task = await running(fx)
    await fx.actor.call(ev.CreateEnvironment("e1", "production", None))
    manifest = P.Manifest(repository="r", targets=(P.TargetDefinition(name="w", type="workflow"),))
    await fx.actor.call(ev.RegisterManifests("production", (manifest,)))
    await fx.actor.call(ev.SubmitRun("run1", "production", "r", "w", ()))
    assert await fx.actor.wait_outcome("run1:1:1", 0.05) is None
    await fx.actor.call(ev.Tick())  # queued after the ForgetWaiter: processed once it is
    await stop(task)
    assert fx.actor._state.executions["run1:1:1"].waiters == set()


async def test_outcomes_of_finished_executions_come_from_the_store(fx: Fixture) -> None:
    fx.store.outcomes["old:1:1"] = P.Succeeded(P.Value(format="json", data=1))
    task = await running(fx)
    assert await fx.actor.wait_outcome("old:1:1", 1) == fx.store.outcomes["old:1:1"]
    with pytest.raises(NotFound):
        await fx.actor.wait_outcome("never:1:1", 1)
    await stop(task)


async def test_agents_waiting_on_finished_executions_get_outcomes_from_the_store(
    fx: Fixture,
) -> None:
    fx.store.outcomes["old:1:1"] = P.Succeeded(P.Value(format="json", data=1))
    task = await running(fx)
    await fx.actor.call(ev.CreateEnvironment("e1", "production", None))
    manifest = P.Manifest(repository="r", targets=(P.TargetDefinition(name="w", type="workflow"),))
    await fx.actor.call(ev.RegisterManifests("production", (manifest,)))
    hello = P.Hello(P.PROTOCOL_VERSION, "p", "production", targets={"r": ("w",)})
    await fx.actor.call(ev.ConnectSession("s1", 1, "production", hello))
    await fx.actor.call(ev.SubmitRun("r", "production", "r", "w", ()))  # r:1:1 runs in s1
    fx.sent.clear()
    for request_id, execution_id in ((7, "old:1:1"), (8, "never:1:1")):
        request = P.GetResult(request_id, execution_id, from_execution_id="r:1:1")
        fx.actor.post(ev.RequestResult("s1", request))
    await fx.actor.call(ev.Tick())  # answered once the requests before it are delivered
    await stop(task)
    assert fx.sent[0] == ("s1", P.ResultReady(7, "old:1:1", fx.store.outcomes["old:1:1"]))
    session, unknown = fx.sent[1]
    assert isinstance(unknown, P.ResultReady) and isinstance(unknown.outcome, P.Failed)
    assert (session, unknown.request_id, unknown.outcome.error.type) == ("s1", 8, "NotFound")
    assert "never:1:1 does not exist" in unknown.outcome.error.message


async def test_an_idempotency_key_recorded_earlier_returns_the_existing_run(fx: Fixture) -> None:
    fx.store.keys["k"] = "earlier"
    task = await running(fx)
    answer = await fx.actor.call(ev.SubmitRun("new", "production", "r", "w", (), "k"))
    await stop(task)
    assert answer == ExistingRun("earlier")
    assert fx.store.batches == []
