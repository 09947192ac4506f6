"""The agent's connection against a fake server that speaks ``coflux.protocol``.

Covers the handshake, session resumption across drops, resending what the
server has not answered, dispatch to the pool, and fatal closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import ClassVar

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from coflux import protocol
from coflux.agent.connection import MOVED_RETRY_MAX, Connection, ConnectionRejected, Moved
from coflux.agent.settings import AgentSettings
from tests.support.eventually import eventually_async

VALUE = protocol.Value(format="json", data=42)
TARGETS = {"hello": ("greet", "shout")}


class FakePool:
    def __init__(self, held: set[str] | None = None) -> None:
        self.held = set(held or ())
        self.executed: list[protocol.Execute] = []
        self.delivered: list[protocol.Submitted | protocol.ResultReady] = []
        self.aborted: list[str] = []

    async def execute(self, command: protocol.Execute) -> None:
        self.executed.append(command)
        self.held.add(command.execution_id)

    def deliver(self, message: protocol.Submitted | protocol.ResultReady) -> None:
        self.delivered.append(message)

    async def abort(self, execution_id: str) -> None:
        self.aborted.append(execution_id)

    def executing(self) -> set[str]:
        return set(self.held)

    def blocked(self) -> set[str]:
        return set()


@dataclass
class Session:
    """One agent connection as the fake server saw it."""

    ws: ServerConnection
    hello: protocol.Hello
    received: list[protocol.AgentMessage] = field(default_factory=list)

    async def send(self, message: protocol.Record) -> None:
        await self.ws.send(protocol.encode_json(message), text=True)


class FakeServer:
    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self.reject: tuple[int, str] | None = None
        self.port = 0

    async def handler(self, ws: ServerConnection) -> None:
        (message,) = protocol.decode_agent_frame(await ws.recv())
        assert isinstance(message, protocol.Hello)
        session = Session(ws, message)
        self.sessions.append(session)
        if self.reject is not None:
            await ws.close(*self.reject)
            return
        resumed = message.session_id == "s1"
        await session.send(protocol.Welcome(session_id="s1", resumed=resumed))
        async for raw in ws:
            session.received.extend(protocol.decode_agent_frame(raw))

    def connected(self, count: int) -> Callable[[], bool]:
        return lambda: len(self.sessions) >= count


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    fake = FakeServer()
    async with serve(fake.handler, "127.0.0.1", 0) as ws_server:
        fake.port = port_of(ws_server)
        yield fake


def port_of(ws_server: Server) -> int:
    return int(next(iter(ws_server.sockets)).getsockname()[1])


def settings(port: int, token: str | None = None) -> AgentSettings:
    return AgentSettings(
        host=f"127.0.0.1:{port}",
        project="proj",
        environment="dev",
        repositories=("hello",),
        token=token,
        concurrency=3,
        provides={"gpu": ("A100", "H100")},
        reconnect_delay_min=0.01,
        reconnect_delay_max=0.05,
    )


@pytest.fixture
async def running(
    server: FakeServer,
) -> AsyncIterator[tuple[Connection, FakePool, asyncio.Task[None]]]:
    pool = FakePool(held={"r1:1:1"})
    connection = Connection(settings(server.port), targets=TARGETS)
    task = asyncio.create_task(connection.run(pool))
    yield connection, pool, task
    await connection.close()
    await asyncio.wait_for(task, 5)


async def test_handshake_announces_the_agent(
    server: FakeServer, running: tuple[Connection, FakePool, asyncio.Task[None]]
) -> None:
    connection, _, _ = running
    await eventually_async(server.connected(1))
    await asyncio.wait_for(connection.connected.wait(), 5)
    hello = server.sessions[0].hello
    assert hello.protocol_version == protocol.PROTOCOL_VERSION
    assert (hello.project, hello.environment, hello.session_id) == ("proj", "dev", None)
    assert hello.concurrency == 3
    assert hello.provides == {"gpu": ("A100", "H100")}
    assert hello.targets == TARGETS
    assert hello.executing == ("r1:1:1",)
    assert connection.session_id == "s1"


async def test_bearer_token_is_sent() -> None:
    seen: list[str | None] = []

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen.append(ws.request.headers.get("Authorization"))
        await ws.close(protocol.CLOSE_UNAUTHORISED, "bad token")

    async with serve(handler, "127.0.0.1", 0) as ws_server:
        connection = Connection(settings(port_of(ws_server), token="sekret"))
        with pytest.raises(ConnectionRejected, match="bad token"):
            await asyncio.wait_for(connection.run(FakePool()), 5)
    assert seen == ["Bearer sekret"]


async def test_resumes_the_session_after_a_drop(
    server: FakeServer, running: tuple[Connection, FakePool, asyncio.Task[None]]
) -> None:
    await eventually_async(server.connected(1))
    await server.sessions[0].ws.close(1012, "restarting")
    await eventually_async(server.connected(2))
    assert server.sessions[1].hello.session_id == "s1"
    await server.sessions[1].ws.close(1011, "boom")  # closing handshake aborted or not: same
    await eventually_async(server.connected(3))
    assert server.sessions[2].hello.session_id == "s1"


async def test_resends_unanswered_messages_after_reconnect(
    server: FakeServer, running: tuple[Connection, FakePool, asyncio.Task[None]]
) -> None:
    connection, pool, _ = running
    await eventually_async(server.connected(1))
    first = server.sessions[0]
    complete = protocol.Complete(execution_id="r1:2:1", outcome=protocol.Succeeded(value=VALUE))
    get_result = protocol.GetResult(request_id=7, execution_id="r1:3:1", from_execution_id="r1:1:1")
    submit = protocol.Submit(
        request_id=8,
        parent_execution_id="r1:1:1",
        call_index=0,
        repository="hello",
        target="greet",
        type="task",
        arguments=(VALUE,),
    )
    for message in (complete, get_result, submit):
        connection.send(message)
    await eventually_async(lambda: len(first.received) == 3)
    assert first.received == [complete, get_result, submit]
    await first.send(protocol.Submitted(request_id=8, execution_id="r1:3:1"))
    await eventually_async(lambda: len(pool.delivered) == 1)
    await first.ws.close(1012, "restarting")

    # The completion and the result request were not answered: both come back. The
    # submission was, but its outcome was not: it is asked for (with its request id).
    await eventually_async(server.connected(2))
    second = server.sessions[1]
    assert set(second.hello.executing) == {"r1:1:1", "r1:2:1"}
    await eventually_async(lambda: len(second.received) == 3)
    asked = protocol.GetResult(request_id=8, execution_id="r1:3:1", from_execution_id="r1:1:1")
    assert second.received == [complete, get_result, asked]
    outcome = protocol.Succeeded(value=VALUE)
    ready = protocol.ResultReady(request_id=7, execution_id="r1:3:1", outcome=outcome)
    submitted_ready = protocol.ResultReady(request_id=8, execution_id="r1:3:1", outcome=outcome)
    await second.send(protocol.Ack(execution_ids=("r1:2:1",)))
    await second.send(ready)
    await second.send(submitted_ready)
    await second.send(submitted_ready)  # a second answer (after a resend) is dropped
    assert await connection.flush(5)
    await eventually_async(lambda: pool.delivered[-2:] == [ready, submitted_ready])
    await second.ws.close(1012, "restarting")

    # Everything was answered: after the next Hello, the first message is a new one.
    await eventually_async(server.connected(3))
    third = server.sessions[2]
    assert third.hello.executing == ("r1:1:1",)
    logs = protocol.Logs(
        entries=(
            protocol.LogEntry(execution_id="r1:1:1", timestamp=1.0, level="info", template="hi"),
        )
    )
    connection.send(logs)
    await eventually_async(lambda: third.received == [logs])
    assert len(pool.delivered) == 3  # Submitted, and one of each ResultReady


async def test_logs_sent_while_disconnected_are_buffered(server: FakeServer) -> None:
    connection = Connection(settings(server.port))
    entry = protocol.LogEntry(execution_id="r1:1:1", timestamp=1.0, level="info", template="x")
    connection.send(protocol.Logs(entries=(entry, entry)))
    task = asyncio.create_task(connection.run(FakePool()))
    try:
        await eventually_async(server.connected(1))
        session = server.sessions[0]
        await eventually_async(lambda: session.received == [protocol.Logs(entries=(entry, entry))])
    finally:
        await connection.close()
        await asyncio.wait_for(task, 5)


async def test_dispatches_server_messages_to_the_pool(
    server: FakeServer, running: tuple[Connection, FakePool, asyncio.Task[None]]
) -> None:
    _, pool, _ = running
    await eventually_async(server.connected(1))
    session = server.sessions[0]
    execute = protocol.Execute(
        execution_id="r2:1:1",
        run_id="r2",
        step_id="r2:1",
        attempt=1,
        repository="hello",
        target="greet",
        arguments=(),
    )
    await session.send(execute)
    await session.send(execute)  # a repeat for an execution already held is ignored
    await session.send(protocol.Submitted(request_id=99, execution_id="x:1:1"))  # nobody asked
    await session.send(protocol.Abort(execution_id="r2:1:1"))
    await eventually_async(lambda: pool.aborted == ["r2:1:1"])
    assert pool.executed == [execute]
    assert pool.delivered == []


async def test_stop_accepting_declares_no_targets(
    server: FakeServer, running: tuple[Connection, FakePool, asyncio.Task[None]]
) -> None:
    connection, pool, _ = running
    await eventually_async(server.connected(1))
    await asyncio.wait_for(connection.connected.wait(), 5)
    connection.stop_accepting()
    session = server.sessions[0]
    await eventually_async(lambda: session.received == [protocol.Declare(targets={})])
    execute = protocol.Execute(
        execution_id="r3:1:1",
        run_id="r3",
        step_id="r3:1",
        attempt=1,
        repository="hello",
        target="greet",
        arguments=(),
    )
    await session.send(execute)
    await session.send(protocol.Abort(execution_id="r3:1:1"))
    await eventually_async(lambda: pool.aborted == ["r3:1:1"])  # messages are handled in order
    assert pool.executed == []


async def test_protocol_mismatch_is_fatal_and_carries_the_reason(server: FakeServer) -> None:
    server.reject = (protocol.CLOSE_PROTOCOL_MISMATCH, "server speaks protocol 2")
    connection = Connection(settings(server.port))
    with pytest.raises(ConnectionRejected, match="server speaks protocol 2") as caught:
        await asyncio.wait_for(connection.run(FakePool()), 5)
    assert caught.value.code == protocol.CLOSE_PROTOCOL_MISMATCH
    assert len(server.sessions) == 1  # no retry


async def test_refused_upgrade_with_401_is_fatal() -> None:
    def refuse(ws: ServerConnection, request: Request) -> Response:
        return ws.respond(HTTPStatus.UNAUTHORIZED, "no token\n")

    async def handler(ws: ServerConnection) -> None:
        raise AssertionError("not reached")

    async with serve(handler, "127.0.0.1", 0, process_request=refuse) as ws_server:
        connection = Connection(settings(port_of(ws_server)))
        with pytest.raises(ConnectionRejected, match="HTTP 401"):
            await asyncio.wait_for(connection.run(FakePool()), 5)


async def test_keeps_retrying_until_the_server_appears(caplog: pytest.LogCaptureFixture) -> None:
    # Reserve a port, close it, start the agent, then start the server there.
    async with serve(FakeServer().handler, "127.0.0.1", 0) as probe:
        port = port_of(probe)
    fake = FakeServer()
    connection = Connection(settings(port))
    task = asyncio.create_task(connection.run(FakePool()))
    try:
        await eventually_async(lambda: "cannot connect to" in caplog.text)
        async with serve(fake.handler, "127.0.0.1", port):
            await eventually_async(fake.connected(1))
            await asyncio.wait_for(connection.connected.wait(), 5)
    finally:
        await connection.close()
        await asyncio.wait_for(task, 5)


async def test_an_unreachable_owner_is_asked_for_less_often_until_it_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The configured server names an owner that died (its lease has not run out):
    # the agent goes there at once each time it is told, but asks the configured
    # server again less often each round, up to MOVED_RETRY_MAX; once a connection
    # is established the rounds start again from the shortest wait.
    connection = Connection(settings(1))
    waits: list[tuple[str, float]] = []
    attempts = 0

    async def serve_once(pool: object) -> object:
        nonlocal attempts
        attempts += 1
        if attempts == 22:  # the takeover is over: connected, then dropped once
            connection.connected.set()
            return "dropped"
        if attempts == 26:
            await connection.close()
        if connection._moved_to is None:
            return Moved("http://127.0.0.1:9")  # the configured server names the owner
        raise OSError("connection refused")  # the owner it named is gone

    async def backoff(delay: float) -> None:
        waits.append(("to owner" if connection._moved_to else "ask again", delay))

    monkeypatch.setattr(connection, "_serve_once", serve_once)
    monkeypatch.setattr(connection, "_backoff", backoff)
    await asyncio.wait_for(connection.run(FakePool()), 5)
    minimum = connection._settings.reconnect_delay_min
    asked_again = [delay for why, delay in waits if why == "ask again"]
    rounds = [min(MOVED_RETRY_MAX, minimum * 2**k) for k in range(10)]
    assert rounds[-1] == MOVED_RETRY_MAX  # the test reaches the cap
    assert asked_again[:10] == rounds
    assert asked_again[10] == minimum  # after the connection: from the start again
    assert all(delay == minimum for why, delay in waits if why == "to owner")


# --- the agent around the connection ----------------------------------------------------


class FakeAgentPool(FakePool):
    """Stands in for ``coflux.agent.pool.Pool`` inside ``coflux.agent.agent.run``."""

    instances: ClassVar[list[FakeAgentPool]] = []

    def __init__(self, repositories: list[str], **options: object) -> None:
        super().__init__()
        self.repositories = repositories
        self.options = options
        self.stopped: list[float] = []
        self.blocking = False  # a patient stop waits until a stop without grace
        self.killed = asyncio.Event()
        FakeAgentPool.instances.append(self)

    async def start(self) -> list[protocol.Manifest]:
        target = protocol.TargetDefinition(name="greet", type="workflow")
        return [protocol.Manifest(repository=r, targets=(target,)) for r in self.repositories]

    async def stop(self, grace: float) -> None:
        self.stopped.append(grace)
        if grace == 0:
            self.killed.set()
        elif self.blocking:
            await self.killed.wait()


@pytest.fixture
def agent_pool(monkeypatch: pytest.MonkeyPatch) -> type[FakeAgentPool]:
    FakeAgentPool.instances = []
    monkeypatch.setattr("coflux.agent.agent.Pool", FakeAgentPool)
    return FakeAgentPool


async def test_agent_hosts_its_manifests_and_stops_gracefully(
    server: FakeServer, agent_pool: type[FakeAgentPool]
) -> None:
    from coflux.agent.agent import run

    stop = asyncio.Event()
    task = asyncio.create_task(run(settings(server.port), stop))
    await eventually_async(server.connected(1))
    session = server.sessions[0]
    assert session.hello.targets == {"hello": ("greet",)}
    (pool,) = agent_pool.instances
    assert pool.options["concurrency"] == 3
    stop.set()
    await asyncio.wait_for(task, 5)
    assert session.received == [protocol.Declare(targets={})]  # stopped accepting first
    assert pool.stopped == [10.0]


async def test_agent_run_raises_the_rejection_itself(
    server: FakeServer, agent_pool: type[FakeAgentPool]
) -> None:
    from coflux.agent.agent import run

    server.reject = (protocol.CLOSE_UNKNOWN_ENVIRONMENT, "environment 'dev' does not exist")
    with pytest.raises(ConnectionRejected, match="environment 'dev' does not exist"):
        await asyncio.wait_for(run(settings(server.port)), 5)
    assert agent_pool.instances[0].stopped  # the pool is stopped on the way out


async def test_kill_cuts_the_drain_short(
    server: FakeServer, agent_pool: type[FakeAgentPool]
) -> None:
    from coflux.agent.agent import run

    stop, kill = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run(settings(server.port), stop, kill))
    await eventually_async(server.connected(1))
    (pool,) = agent_pool.instances
    pool.blocking = True
    stop.set()
    await eventually_async(lambda: pool.stopped == [10.0])
    assert not task.done()
    kill.set()
    await asyncio.wait_for(task, 5)
    assert pool.stopped == [10.0, 0]
