"""The agent process: an executor pool, a connection to the server, and (with
``--watch``) a source watcher, living together until stopped.

Stopping is deliberate: the agent first stops accepting work (it declares no
targets), then lets the pool drain for a bounded grace, waits briefly for the
server to acknowledge the last completions, and only then closes the
connection. Signal handling is the CLI's job: callers pass a ``stop`` event.

Once its repositories are registered (with ``--register``) and the server has
welcomed it, the agent logs one ``ready:`` line: from then on, a submission is
picked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from coflux import protocol
from coflux.agent.blobs import BlobSettings
from coflux.agent.connection import Connection, ConnectionRejected, Targets, format_targets
from coflux.agent.pool import Pool
from coflux.agent.settings import AgentSettings
from coflux.client import Client, ServerUnavailable, base_url

logger = logging.getLogger(__name__)


def targets_of(manifests: Sequence[protocol.Manifest]) -> Targets:
    return {m.repository: tuple(t.name for t in m.targets) for m in manifests}


def register(settings: AgentSettings, manifests: Sequence[protocol.Manifest]) -> list[str]:
    """Post the manifests to the server (blocking; call it in a thread)."""
    with Client(settings.host, settings.token) as client:
        return client.register_manifests(settings.project, settings.environment, manifests)


async def _register_at_start(
    settings: AgentSettings, manifests: Sequence[protocol.Manifest], stop: asyncio.Event
) -> None:
    """Register, retrying while the server is unreachable (it may still be starting).

    A refusal (``ApiError``: unknown project, bad manifest) is final and raised.
    """
    delay = settings.reconnect_delay_min
    logged = False
    while not stop.is_set():
        try:
            names = await asyncio.to_thread(register, settings, manifests)
        except ServerUnavailable as e:
            if not logged:
                logger.warning("cannot register manifests yet (%s); retrying", e)
                logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(settings.reconnect_delay_max, delay * 2)
        else:
            logger.debug("registered %s", ", ".join(names) or "no repositories")
            return


def ready_line(settings: AgentSettings, repositories: Sequence[str]) -> str:
    """The one line saying that the agent is connected (and its repositories
    registered, if it registers them) and waits for work."""
    names = ", ".join(repositories) or "nothing"
    noun = "repository" if len(repositories) == 1 else "repositories"
    where = (
        f"in environment {settings.environment} of project {settings.project}"
        f" at {base_url(settings.host)}"
    )
    if settings.register:
        return f"ready: {noun} {names} registered {where}; waiting for work"
    return (
        f"ready: hosting {noun} {names} {where}; waiting for work (not registered by this"
        " agent: to submit its workflows, use --register or coflux register)"
    )


class _Agent:
    def __init__(self, settings: AgentSettings, stop: asyncio.Event, kill: asyncio.Event) -> None:
        self.settings = settings
        self.stop = stop
        self.kill = kill
        self.connection = Connection(settings)
        # Executors move large values and asset files to and from the server's
        # blob store themselves, sharing one cache on disk.
        self.blob_dir = Path(settings.blob_cache_dir or tempfile.mkdtemp(prefix="coflux-blobs-"))
        self.own_blob_dir = settings.blob_cache_dir is None
        blobs = BlobSettings(
            url=base_url(settings.host),
            token=settings.token,
            cache_dir=self.blob_dir,
            cache_size=settings.blob_cache_size,
            threshold=settings.blob_threshold,
        )
        self.pool = Pool(
            list(settings.repositories),
            concurrency=settings.concurrency,
            prefetch=settings.prefetch,
            max_executors=settings.process_cap,
            isolate=settings.isolate,
            send=self.connection.send,
            blobs=blobs,
            pickle=not settings.no_pickle,
        )
        self.pool_stopped = False
        self.repositories: list[str] = []  # the repositories hosted, once imported

    async def reload(self, changed: list[str]) -> None:
        try:
            manifests = await self.pool.reload()
        except Exception:  # user code that no longer imports: keep serving the old code
            logger.exception("reload failed; still serving the previous code")
            return
        if self.settings.register:
            try:
                await asyncio.to_thread(register, self.settings, manifests)
            except Exception:
                logger.exception("re-registering manifests failed")
        targets = targets_of(manifests)
        self.connection.set_targets(targets)
        logger.info("reloaded; hosting: %s", format_targets(targets))

    def remove_blob_dir(self) -> None:
        if self.own_blob_dir:
            shutil.rmtree(self.blob_dir, ignore_errors=True)

    async def stop_pool(self, grace: float) -> None:
        if not self.pool_stopped:
            self.pool_stopped = True
            await self.pool.stop(grace)

    async def drain(self) -> None:
        """Stop taking work, let running executions finish, flush their completions.

        ``kill`` cuts the grace short: the pool is stopped again with no grace,
        which kills what still runs and so ends the first, patient stop too.
        """
        logger.info("stopping: draining running executions (up to %.0fs)", self.settings.stop_grace)
        self.connection.stop_accepting()
        draining = asyncio.create_task(self.stop_pool(self.settings.stop_grace))
        killed = asyncio.create_task(self.kill.wait())
        await asyncio.wait({draining, killed}, return_when=asyncio.FIRST_COMPLETED)
        killed.cancel()
        if not draining.done():
            logger.warning("stopping now: killing running executions")
            await self.pool.stop(0)
        await draining
        if not await self.connection.flush(0 if self.kill.is_set() else self.settings.ack_grace):
            logger.warning("stopping before the server acknowledged every completion")

    async def _announce_ready(self) -> None:
        await self.connection.connected.wait()
        logger.info("%s", ready_line(self.settings, self.repositories))

    async def serve(self) -> None:
        watcher_stop = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            connection = tg.create_task(self.connection.run(self.pool))
            if self.settings.watch:
                # Only with --watch: watchfiles (and the anyio it loads) would add to
                # every agent's start.
                from coflux.agent.watcher import watch

                tg.create_task(watch(self.settings.repositories, self.reload, watcher_stop))
            stopped = tg.create_task(self.stop.wait())
            ready = tg.create_task(self._announce_ready())
            await asyncio.wait({connection, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            ready.cancel()
            if not connection.done():
                await self.drain()
            watcher_stop.set()
            await self.connection.close()


async def run(
    settings: AgentSettings, stop: asyncio.Event | None = None, kill: asyncio.Event | None = None
) -> None:
    """Run an agent until ``stop`` is set, then drain it (``kill`` ends the drain at once).

    Raises:
        ConnectionRejected: the server refused the agent (bad token, unknown
            project or environment, protocol mismatch).
        ApiError: registering the manifests was refused.
    """
    agent = _Agent(settings, stop or asyncio.Event(), kill or asyncio.Event())
    try:
        manifests = await agent.pool.start()
    except BaseException:
        agent.remove_blob_dir()
        raise
    try:
        agent.repositories = [m.repository for m in manifests]
        agent.connection.set_targets(targets_of(manifests))
        if settings.register:
            await _register_at_start(settings, manifests, agent.stop)
        try:
            await agent.serve()
        except* ConnectionRejected as group:
            raise group.exceptions[0] from None
    finally:
        # Reached without a drain only when the agent cannot report any more
        # (refused, failed, cancelled): nothing is worth waiting for. Shielded
        # so that a cancelled agent still kills its executor processes.
        await asyncio.shield(agent.stop_pool(0))
        agent.remove_blob_dir()
