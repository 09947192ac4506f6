"""Prefect 3: flows whose tasks are started with ``.submit()`` (the default
thread-pool task runner), against the ephemeral local API.

The runner gives each process a fresh ``PREFECT_HOME`` and no API URL, so
Prefect starts its temporary local server with a SQLite database there (every
flow and task run is recorded in it) and stops it when the process exits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect import flow, task


@task
def echo(value: int) -> int:
    return value


@task
def build_greeting(name: str) -> str:
    return f"Hello, {name}!"


@task
def count_letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


@flow
def fanout_flow(n: int) -> list[int]:
    futures = [echo.submit(i) for i in range(n)]
    return [future.result() for future in futures]


@flow
def chain_flow(n: int) -> int:
    value = 0
    for _ in range(n):
        value = echo.submit(value + 1).result()
    return value


@flow
def hello_flow(name: str) -> str:
    greeting = build_greeting.submit(name).result()
    count_letters.submit(greeting).result()
    return greeting


class Session:
    def fanout(self, n: int) -> list[int]:
        return fanout_flow(n)

    def chain(self, n: int) -> int:
        return chain_flow(n)

    def hello(self, name: str) -> str:
        return hello_flow(name)


@contextmanager
def start() -> Iterator[Session]:
    # The temporary server starts with the first flow run and stops at exit.
    yield Session()
