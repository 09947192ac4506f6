"""Live topics: committed facts fanned out to subscribers, and waits on a run.

The project actor publishes each committed batch of facts here. A subscriber to
a run gets the facts about that run as they happen (after the snapshot it read
itself); ``wait_for_run`` lets long-polling requests sleep until something
happens to a run instead of polling the store.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

import msgspec

from coflux.orchestration.effects import Fact, LogsRecorded, MetricsRecorded, SessionStarted

_RUN_ONLY = (LogsRecorded, MetricsRecorded)


def runs_of(fact: Fact) -> tuple[str, ...]:
    if isinstance(fact, LogsRecorded):
        return fact.run_ids
    run_id = getattr(fact, "run_id", None)
    return (run_id,) if isinstance(run_id, str) else ()


def _public(fact: Fact) -> Fact:
    if isinstance(fact, SessionStarted) and fact.secret_sha256 is not None:
        return msgspec.structs.replace(fact, secret_sha256=None)
    return fact


class Subscription:
    def __init__(self, hub: Topics, key: tuple[str, str]) -> None:
        self.key = key
        self.queue: asyncio.Queue[list[Fact]] = asyncio.Queue()
        self._hub = hub

    def close(self) -> None:
        self._hub.unsubscribe(self)


class Topics:
    def __init__(self) -> None:
        self._subscribers: defaultdict[tuple[str, str], set[Subscription]] = defaultdict(set)
        self._activity: dict[tuple[str, str], asyncio.Event] = {}

    def publish(self, project_id: str, facts: Sequence[Fact]) -> None:
        # Project subscribers see every fact but logs and metrics (which only run pages
        # show); of a session's start, not what proves its owner.
        project_subscribers = self._subscribers.get((project_id, ""))
        if project_subscribers:
            changes = [_public(f) for f in facts if not isinstance(f, _RUN_ONLY)]
            if changes:
                for subscription in project_subscribers:
                    subscription.queue.put_nowait(changes)
        by_run: defaultdict[str, list[Fact]] = defaultdict(list)
        for fact in facts:
            for run_id in dict.fromkeys(runs_of(fact)):
                by_run[run_id].append(fact)
        for run_id, run_facts in by_run.items():
            key = (project_id, run_id)
            for subscription in self._subscribers.get(key, ()):
                subscription.queue.put_nowait(run_facts)
            event = self._activity.pop(key, None)
            if event is not None:
                event.set()

    def subscribe_project(self, project_id: str) -> Subscription:
        """Every fact about the project except log entries and metrics."""
        subscription = Subscription(self, (project_id, ""))
        self._subscribers[(project_id, "")].add(subscription)
        return subscription

    def subscribe_run(self, project_id: str, run_id: str) -> Subscription:
        subscription = Subscription(self, (project_id, run_id))
        self._subscribers[(project_id, run_id)].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.key)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.key]

    async def wait_for_run(self, project_id: str, run_id: str, timeout: float) -> bool:
        """Sleep until a fact about the run is published (True) or ``timeout`` passes."""
        event = self._activity.setdefault((project_id, run_id), asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
