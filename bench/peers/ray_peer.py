"""Ray, local: ``ray.init(num_cpus=2)``, tasks as ``@ray.remote`` functions.

Ray keeps results in its in-memory object store and records nothing durably.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import ray


@ray.remote
def echo(value: int) -> int:
    return value


@ray.remote
def build_greeting(name: str) -> str:
    return f"Hello, {name}!"


@ray.remote
def count_letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


class Session:
    def fanout(self, n: int) -> list[int]:
        return list(ray.get([echo.remote(i) for i in range(n)]))

    def chain(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = ray.get(echo.remote(value + 1))
        return value

    def hello(self, name: str) -> str:
        greeting = ray.get(build_greeting.remote(name))
        ray.get(count_letters.remote(greeting))
        return str(greeting)


@contextmanager
def start() -> Iterator[Session]:
    # Its session files go under the benchmark's work folder, not /tmp/ray.
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=os.environ["BENCH_PEER_TMP"],
    )
    try:
        yield Session()
    finally:
        ray.shutdown()
