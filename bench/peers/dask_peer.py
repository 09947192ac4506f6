"""Dask distributed: a ``LocalCluster`` of 2 worker processes (1 thread each).

The scheduler keeps results in the workers' memory and records nothing durably.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster


def echo(value: int) -> int:
    return value


def build_greeting(name: str) -> str:
    return f"Hello, {name}!"


def count_letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


class Session:
    def __init__(self, client: Client) -> None:
        self.client = client

    def fanout(self, n: int) -> list[int]:
        # pure=False: every call is its own task, as in the other engines (no
        # deduplication of identical calls).
        futures = [self.client.submit(echo, i, pure=False) for i in range(n)]
        return list(self.client.gather(futures))

    def chain(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = self.client.submit(echo, value + 1, pure=False).result()
        return value

    def hello(self, name: str) -> str:
        greeting = self.client.submit(build_greeting, name, pure=False).result()
        self.client.submit(count_letters, greeting, pure=False).result()
        return str(greeting)


@contextmanager
def start() -> Iterator[Session]:
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        with Client(cluster) as client:
            yield Session(client)
    finally:
        cluster.close()
