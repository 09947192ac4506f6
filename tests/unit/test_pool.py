"""The executor pool with real executor processes; the test plays the server."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from coflux import protocol
from coflux.agent.pool import ExecutorStartError, Pool
from coflux.serialization import deserialize, serialize
from tests.support.eventually import eventually_async

REPOS = Path(__file__).resolve().parents[1] / "support" / "repos"
M = TypeVar("M", bound=protocol.Record)


class Server:
    """Collects what the pool sends, and answers like the server would."""

    def __init__(self) -> None:
        self.sent: list[protocol.AgentMessage] = []
        self.pool: Pool | None = None

    def send(self, message: protocol.AgentMessage) -> None:
        self.sent.append(message)

    def of(self, kind: type[M]) -> list[M]:
        return [m for m in self.sent if isinstance(m, kind)]

    def logs(self, execution_id: str) -> list[protocol.LogEntry]:
        return [
            e for m in self.of(protocol.Logs) for e in m.entries if e.execution_id == execution_id
        ]

    def completion(self, execution_id: str) -> protocol.Complete | None:
        found = [m for m in self.of(protocol.Complete) if m.execution_id == execution_id]
        assert len(found) <= 1, f"{execution_id} completed twice"
        return found[0] if found else None

    async def outcome(self, execution_id: str, timeout: float = 30.0) -> protocol.ReportedOutcome:
        complete = await eventually_async(lambda: self.completion(execution_id), timeout)
        return complete.outcome

    async def result(self, execution_id: str) -> Any:
        outcome = await self.outcome(execution_id)
        assert isinstance(outcome, protocol.Succeeded), outcome
        return deserialize(outcome.value)

    async def request(self, kind: type[M], predicate: Callable[[M], bool]) -> M:
        return await eventually_async(
            lambda: next((m for m in self.of(kind) if predicate(m)), None)
        )


def execute(execution_id: str, repository: str, target: str, *args: Any) -> protocol.Execute:
    return protocol.Execute(
        execution_id=execution_id,
        run_id="R1",
        step_id=f"S-{execution_id}",
        attempt=1,
        repository=repository,
        target=target,
        arguments=tuple(serialize(a) for a in args),
    )


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    server = Server()
    yield server
    if server.pool is not None:
        await server.pool.stop(1.0)


@pytest.fixture
def make_pool(server: Server) -> Callable[..., Pool]:
    def make(
        *repositories: str, concurrency: int = 1, isolate: bool = False, **options: Any
    ) -> Pool:
        pool = Pool(
            [str(REPOS / f"{name}.py") for name in repositories],
            concurrency=concurrency,
            isolate=isolate,
            send=server.send,
            **options,
        )
        server.pool = pool
        return pool

    return make


async def test_start_reports_the_manifests(make_pool: Callable[..., Pool]) -> None:
    pool = make_pool("hello", "failing")
    manifests = await pool.start()
    assert [m.repository for m in manifests] == ["hello", "failing"]
    assert [t.name for t in manifests[0].targets] == ["greet", "hello", "hello_twice"]


async def test_start_fails_clearly_when_the_repository_does_not_import(
    make_pool: Callable[..., Pool],
) -> None:
    pool = make_pool("broken_import")
    with pytest.raises(ExecutorStartError) as raised:
        await pool.start()
    message = str(raised.value)
    assert "broken_import.py" in message
    assert "Traceback" in message and "this repository does not import" in message


async def test_a_workflow_calling_a_task_completes_after_its_result(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("hello")
    await pool.start()
    await pool.execute(execute("E1", "hello", "hello", "Ada"))

    submit = await server.request(protocol.Submit, lambda m: m.parent_execution_id == "E1")
    assert (submit.repository, submit.target, submit.type, submit.call_index) == (
        "hello",
        "greet",
        "task",
        0,
    )
    assert [deserialize(v) for v in submit.arguments] == ["Ada", "!"]  # default applied
    pool.deliver(protocol.Submitted(request_id=submit.request_id, execution_id="E2"))
    # Blocked in .result() (the pool is full, so the server is told).
    await server.request(protocol.Blocked, lambda m: m.execution_id == "E1" and m.blocked)
    assert server.completion("E1") is None  # it waits for the outcome, unasked
    assert server.of(protocol.GetResult) == []
    value = serialize("Hello, Ada!")
    # The outcome comes as the submission's second reply (same request id).
    ready = protocol.ResultReady(submit.request_id, "E2", protocol.Succeeded(value))
    pool.deliver(ready)

    assert await server.result("E1") == "Hello, Ada!"
    assert pool.executing() == set()
    pool.deliver(ready)  # a repeated reply after the execution ended is dropped


async def test_concurrent_submissions_get_distinct_request_ids(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("hello")
    await pool.start()
    await pool.execute(execute("E1", "hello", "hello_twice", "Ada", "Bob"))
    submits = []
    for index, execution_id in enumerate(["E2", "E3"]):
        submit = await server.request(protocol.Submit, lambda m, i=index: m.call_index == i)
        pool.deliver(protocol.Submitted(request_id=submit.request_id, execution_id=execution_id))
        submits.append(submit)
    assert len({m.request_id for m in submits}) == 2
    # Outcomes may come in any order; each reaches the call it answers.
    for submit, execution_id, text in [
        (submits[1], "E3", "Hello, Bob?"),
        (submits[0], "E2", "Hello, Ada!"),
    ]:
        outcome = protocol.Succeeded(serialize(text))
        pool.deliver(protocol.ResultReady(submit.request_id, execution_id, outcome))
    assert await server.result("E1") == ["Hello, Ada!", "Hello, Bob?"]


async def test_a_remote_failure_is_rebuilt_in_the_caller(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("failing")
    await pool.start()
    await pool.execute(execute("E1", "failing", "calls_failing", "boom"))
    submit = await server.request(protocol.Submit, lambda m: True)
    pool.deliver(protocol.Submitted(request_id=submit.request_id, execution_id="E2"))
    error = protocol.ErrorInfo(type="builtins.ValueError", message="boom", traceback="remote tb")
    pool.deliver(protocol.ResultReady(submit.request_id, "E2", protocol.Failed(error)))

    outcome = await server.outcome("E1")
    assert isinstance(outcome, protocol.Failed)
    assert (outcome.error.type, outcome.error.message) == ("builtins.ValueError", "boom")


async def test_an_exception_is_reported_with_type_message_and_traceback(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("failing")
    await pool.start()
    await pool.execute(execute("E1", "failing", "fail", "bad input"))
    outcome = await server.outcome("E1")
    assert isinstance(outcome, protocol.Failed)
    assert (outcome.error.type, outcome.error.message) == ("builtins.ValueError", "bad input")
    assert "raise ValueError(message)" in outcome.error.traceback
    assert "coflux/agent/executor.py" not in outcome.error.traceback


async def test_an_unknown_target_fails_the_execution(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("hello")
    await pool.start()
    await pool.execute(execute("E1", "hello", "nope"))
    outcome = await server.outcome("E1")
    assert isinstance(outcome, protocol.Failed)
    assert "hello:nope" in outcome.error.message


async def test_an_executor_is_reused_with_a_fresh_working_directory_each_time(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("introspect")
    await pool.start()
    await pool.execute(execute("E1", "introspect", "where"))
    first = await server.result("E1")
    await pool.execute(execute("E2", "introspect", "where"))
    second = await server.result("E2")

    assert first["pid"] == second["pid"]
    assert first["cwd"] != second["cwd"]
    for where in (first, second):
        assert where["cwd"] != os.getcwd()
        assert not Path(where["cwd"]).exists()  # removed, with the file written in it


async def test_isolate_runs_each_execution_in_a_new_process(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("introspect", isolate=True)
    await pool.start()
    pids = []
    for execution_id in ["E1", "E2", "E3"]:
        await pool.execute(execute(execution_id, "introspect", "where"))
        pids.append((await server.result(execution_id))["pid"])
    assert len(set(pids)) == 3


async def test_environment_changes_do_not_leak_into_the_next_execution(
    server: Server, make_pool: Callable[..., Pool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COFLUX_TEST_SECRET", "from-the-agent")
    pool = make_pool("introspect")
    await pool.start()
    await pool.execute(execute("E1", "introspect", "set_env", "COFLUX_TEST_LEAK", "leaked"))
    await server.result("E1")
    await pool.execute(execute("E2", "introspect", "set_env", "COFLUX_TEST_SECRET", "changed"))
    await server.result("E2")

    await pool.execute(execute("E3", "introspect", "get_env", "COFLUX_TEST_LEAK"))
    assert await server.result("E3") is None
    await pool.execute(execute("E4", "introspect", "get_env", "COFLUX_TEST_SECRET"))
    assert await server.result("E4") == "from-the-agent"


async def test_output_and_logs_arrive_for_the_right_execution_before_it_completes(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("output")
    await pool.start()
    for execution_id in ["E1", "E2"]:
        await pool.execute(execute(execution_id, "output", "noisy", execution_id))
        assert await server.result(execution_id) == execution_id

    for execution_id in ["E1", "E2"]:
        lines = [(e.level, e.template) for e in server.logs(execution_id)]
        assert ("stdout", f"out {execution_id}") in lines
        assert ("stderr", f"err {execution_id}") in lines
        assert ("stdout", f"child {execution_id}") in lines  # from a subprocess
        assert ("stdout", f"partial {execution_id}") in lines  # a trailing partial line
        assert ("info", "logged {tag} {count}") in lines
        assert len(lines) == 5
        [logged] = [e for e in server.logs(execution_id) if e.level == "info"]
        assert {k: deserialize(v) for k, v in logged.values.items()} == {
            "tag": execution_id,
            "count": 3,
        }

    # Output markers are between the executor and the agent only.
    assert [m.marked for m in server.of(protocol.Complete)] == [(), ()]
    # Each execution's logs were sent before its completion.
    kinds = [(type(m).__name__, getattr(m, "execution_id", None)) for m in server.sent]
    assert kinds.index(("Complete", "E1")) > 0
    first_logs_e2 = next(
        i
        for i, m in enumerate(server.sent)
        if isinstance(m, protocol.Logs) and m.entries[0].execution_id == "E2"
    )
    assert kinds.index(("Complete", "E1")) < first_logs_e2 < kinds.index(("Complete", "E2"))


async def test_log_entries_are_batched(server: Server, make_pool: Callable[..., Pool]) -> None:
    pool = make_pool("output")
    await pool.start()
    await pool.execute(execute("E1", "output", "many", 250))
    assert await server.result("E1") == 250
    assert [e.template for e in server.logs("E1")] == [f"line {i}" for i in range(250)]
    batches = server.of(protocol.Logs)
    assert len(batches) >= 3
    assert all(1 <= len(batch.entries) <= 100 for batch in batches)


@pytest.mark.parametrize(
    ("target", "message"),
    [("crash", "executor exited with code 3"), ("segfault", "killed by signal SIGSEGV")],
)
async def test_a_dying_executor_is_reported_and_replaced(
    server: Server, make_pool: Callable[..., Pool], target: str, message: str
) -> None:
    pool = make_pool("crash", "introspect")
    await pool.start()
    await pool.execute(execute("E1", "crash", target))
    outcome = await server.outcome("E1")
    assert isinstance(outcome, protocol.Failed)
    assert (outcome.error.type, outcome.error.message) == ("coflux.ExecutorDied", message)

    await pool.execute(execute("E2", "introspect", "where"))
    assert (await server.result("E2"))["pid"] > 0
    assert pool.executing() == set()


async def test_abort_kills_an_execution_that_ignores_sigterm_within_the_grace(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("sleepy", "introspect", abort_grace=0.5)
    await pool.start()
    await pool.execute(execute("E1", "sleepy", "stubborn"))
    await eventually_async(lambda: server.logs("E1"))  # it has installed its handler
    assert pool.executing() == {"E1"}

    started = time.monotonic()
    await pool.abort("E1")
    assert time.monotonic() - started < 3.0
    assert pool.executing() == set()

    # Another execution completes; the aborted one never reports anything.
    await pool.execute(execute("E2", "introspect", "where"))
    await server.result("E2")
    assert server.completion("E1") is None


async def test_abort_of_a_sleeping_execution_is_quick(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("sleepy")
    await pool.start()
    await pool.execute(execute("E1", "sleepy", "sleep"))
    started = time.monotonic()
    await pool.abort("E1")
    assert time.monotonic() - started < 2.0
    await pool.abort("unknown")  # a no-op
    assert server.completion("E1") is None


async def test_reload_serves_new_executions_from_new_processes(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("introspect")
    await pool.start()
    await pool.execute(execute("E1", "introspect", "where"))
    before = (await server.result("E1"))["pid"]

    manifests = await pool.reload()
    assert [m.repository for m in manifests] == ["introspect"]
    await pool.execute(execute("E2", "introspect", "where"))
    after = (await server.result("E2"))["pid"]
    assert after != before

    def gone() -> bool:
        try:
            os.kill(before, 0)
        except ProcessLookupError:
            return True
        return False

    await eventually_async(gone)


async def test_concurrent_executions_run_in_separate_executors(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("sleepy", "introspect", concurrency=2)
    await pool.start()
    await pool.execute(execute("E1", "sleepy", "sleep", 3600))
    await pool.execute(execute("E2", "introspect", "where"))
    await server.result("E2")
    assert pool.executing() == {"E1"}
    await pool.abort("E1")


async def test_a_workflow_and_its_first_task_both_start_on_warm_executors(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    # A workflow calls its first task straight away: with the default ``warm``
    # the task must not wait for a process to start (~100 ms each).
    pool = make_pool("sleepy", concurrency=3)
    await pool.start()
    arrived: dict[str, float] = {}
    for execution_id in ["E1", "E2"]:
        arrived[execution_id] = time.monotonic()
        await pool.execute(execute(execution_id, "sleepy", "sleep"))
        if execution_id == "E1":
            assert [s for s in pool.snapshot() if s.idle and s.ready_at is not None]

    running = {s.execution_id: s for s in pool.snapshot() if s.execution_id is not None}
    assert running.keys() == {"E1", "E2"}
    for execution_id, executor in running.items():
        assert executor.ready_at is not None and executor.ready_at < arrived[execution_id]

    # The spare taken by E2 is replaced, but the total stays within concurrency.
    def one_spare() -> bool:
        executors = pool.snapshot()
        return (
            len(executors) == 3 and sum(s.idle and s.ready_at is not None for s in executors) == 1
        )

    await eventually_async(one_spare)
    for execution_id in ["E1", "E2"]:
        await pool.abort(execution_id)


async def test_stop_lets_running_executions_finish_within_the_grace(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("sleepy")
    await pool.start()
    await pool.execute(execute("E1", "sleepy", "sleep", 0.2))
    await pool.stop(10.0)
    outcome = server.completion("E1")
    assert outcome is not None and isinstance(outcome.outcome, protocol.Succeeded)


async def test_stop_kills_what_is_still_running_after_the_grace(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("sleepy")
    await pool.start()
    await pool.execute(execute("E1", "sleepy", "sleep", 3600))
    started = time.monotonic()
    await pool.stop(0.2)
    assert time.monotonic() - started < 6.0
    assert server.completion("E1") is None
    assert pool.executing() == set()


async def test_a_blocked_execution_is_passed_on_only_once_the_pool_is_full(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("hello", "sleepy", concurrency=2, max_executors=4)
    await pool.start()
    await pool.execute(execute("E1", "hello", "hello", "Ada"))
    submit = await server.request(protocol.Submit, lambda m: m.parent_execution_id == "E1")
    pool.deliver(protocol.Submitted(request_id=submit.request_id, execution_id="C1"))
    await eventually_async(lambda: [s for s in pool.snapshot() if s.blocked])
    assert server.of(protocol.Blocked) == []  # one of two slots taken: the server has room
    assert pool.blocked() == set()

    await pool.execute(execute("E2", "sleepy", "sleep", 3600))  # now both are held
    await server.request(protocol.Blocked, lambda m: m.execution_id == "E1" and m.blocked)
    assert pool.blocked() == {"E1"}
    # The server may now assign one more: it gets a process beyond the concurrency.
    await pool.execute(execute("E3", "sleepy", "sleep", 3600))
    running = {s.execution_id for s in pool.snapshot()}
    assert {"E1", "E2", "E3"} <= running

    value = serialize("Hello, Ada!")
    pool.deliver(protocol.ResultReady(submit.request_id, "C1", protocol.Succeeded(value)))
    assert await server.result("E1") == "Hello, Ada!"
    resumed = server.sent.index(protocol.Blocked(execution_id="E1", blocked=False))
    assert resumed < server.sent.index(server.completion("E1"))  # type: ignore[arg-type]
    assert pool.blocked() == set()
    for execution_id in ["E2", "E3"]:
        await pool.abort(execution_id)


def _running(pool: Pool) -> set[str]:
    return {s.execution_id for s in pool.snapshot() if s.execution_id is not None}


async def test_prefetched_executions_wait_for_a_slot_and_start_in_the_order_assigned(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("sleepy", concurrency=1, prefetch=2, max_executors=4)
    await pool.start()
    await pool.execute(execute("E1", "sleepy", "sleep", 3600))
    # Held beyond the concurrency: ``execute`` returns only once each has started.
    second = asyncio.create_task(pool.execute(execute("E2", "sleepy", "sleep", 0.2)))
    third = asyncio.create_task(pool.execute(execute("E3", "sleepy", "sleep", 3600)))
    await eventually_async(lambda: pool.executing() == {"E1", "E2", "E3"})
    await asyncio.sleep(0.3)  # time enough to start, were the slot free
    assert _running(pool) == {"E1"}
    assert not second.done() and not third.done()

    await pool.abort("E1")  # its slot goes to the first one waiting, not the second
    await second
    assert "E3" not in _running(pool)
    assert await server.result("E2") is None  # E2 ran to its end ...
    await third  # ... and then E3 had the slot
    assert _running(pool) == {"E3"}
    await pool.abort("E3")


async def test_a_prefetched_execution_aborted_while_it_waits_never_runs(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("sleepy", concurrency=1, prefetch=1, max_executors=4)
    await pool.start()
    await pool.execute(execute("E1", "sleepy", "sleep", 0.5))
    waiting = asyncio.create_task(pool.execute(execute("E2", "sleepy", "sleep", 3600)))
    await eventually_async(lambda: "E2" in pool.executing())
    await pool.abort("E2")
    await waiting  # it stops waiting at once
    assert pool.executing() == {"E1"}
    assert await server.result("E1") is None
    await asyncio.sleep(0.2)
    assert _running(pool) == set()
    assert server.completion("E2") is None


async def test_a_blocked_execution_gives_its_slot_to_a_prefetched_one_without_the_server(
    server: Server, make_pool: Callable[..., Pool]
) -> None:
    pool = make_pool("hello", "sleepy", concurrency=1, prefetch=1, max_executors=4)
    await pool.start()
    await pool.execute(execute("E1", "hello", "hello", "Ada"))
    submit = await server.request(protocol.Submit, lambda m: m.parent_execution_id == "E1")
    pool.deliver(protocol.Submitted(request_id=submit.request_id, execution_id="C1"))
    await eventually_async(lambda: [s for s in pool.snapshot() if s.blocked])
    # The server counts E1 against concurrency + prefetch, so it had room: no report.
    assert server.of(protocol.Blocked) == []
    await pool.execute(execute("E2", "sleepy", "sleep", 3600))  # starts: E1 is blocked
    assert _running(pool) == {"E1", "E2"}
    await pool.abort("E2")
    await pool.abort("E1")
