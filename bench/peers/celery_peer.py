"""Celery 5: a Redis broker and result backend, a prefork worker of concurrency 2.

The runner starts Redis (Debian's ``redis-server``) and passes its URL in
``BENCH_REDIS_URL``; ``start()`` starts the worker (``celery worker``) as a
subprocess and stops it after. The client process plays the workflow: it
submits and waits. Results live in Redis (in memory here): nothing is recorded
in a database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery
from celery.result import ResultSet

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
app = Celery("celery_peer", broker=f"{URL}/0", backend=f"{URL}/1")
app.conf.update(broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)

# Common production flags that only shorten the worker's start-up (no waiting for
# other workers' state): generous to Celery's cold start, neutral to the rest.
WORKER = [
    "worker", "--pool=prefork", "--concurrency=2", "--loglevel=WARNING",
    "--without-mingle", "--without-gossip", "--without-heartbeat",
]  # fmt: skip


@app.task
def echo(value: int) -> int:
    return value


@app.task
def build_greeting(name: str) -> str:
    return f"Hello, {name}!"


@app.task
def count_letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


class Session:
    def fanout(self, n: int) -> list[int]:
        results = [echo.delay(i) for i in range(n)]
        # With the Redis backend this waits natively (batched reads), not one by one.
        return list(ResultSet(results).get(timeout=900))

    def chain(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = echo.delay(value + 1).get(timeout=60)
        return value

    def hello(self, name: str) -> str:
        greeting = build_greeting.delay(name).get(timeout=60)
        count_letters.delay(greeting).get(timeout=60)
        return str(greeting)


@contextmanager
def start() -> Iterator[Session]:
    command = [sys.executable, "-m", "celery", "-A", "celery_peer", *WORKER]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        # No wait for readiness: tasks queue in Redis until the worker takes them,
        # so the first result comes as soon as the worker is up.
        yield Session()
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
