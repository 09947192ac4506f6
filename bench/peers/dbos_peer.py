"""DBOS Transact: ``@DBOS.workflow`` / ``@DBOS.step`` functions in this process,
durable in a PostgreSQL system database.

The runner starts a throwaway PostgreSQL cluster for the whole pair, with the
durable settings of our own PostgreSQL numbers (``bench/stores.py``: fsync,
synchronous_commit and full_page_writes on, the unix socket only), and passes
its URL in ``BENCH_POSTGRES_URL``. ``start()`` launches DBOS on a database of
its own that does not exist yet, so DBOS creates and migrates its system
database as a new application's first launch would; a cold start includes that
(but not starting PostgreSQL, which a DBOS user already has running).

Every workflow's inputs, status and output and every step's output are written
to PostgreSQL before the workflow goes on. The fan-out is the queue pattern of
DBOS's own documentation: a workflow enqueues ``n`` steps on a DBOS queue (each
becomes a child workflow, dequeued by this process's queue runner and run in
its thread pool) and gathers their handles' results. The queue's polling
interval is set to ``QUEUE_POLL_S`` instead of the 1 s default, which would
only add waiting to every measure. The chain calls 200 steps in sequence from
one workflow; the hello workflow calls its two steps.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from dbos import DBOS, DBOSConfig
from sqlalchemy.engine import make_url

QUEUE = "bench"
QUEUE_POLL_S = 0.01


@DBOS.step()
def echo(value: int) -> int:
    return value


@DBOS.step()
def build_greeting(name: str) -> str:
    return f"Hello, {name}!"


@DBOS.step()
def count_letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


@DBOS.workflow()
def fanout_workflow(n: int) -> list[int]:
    handles = [DBOS.enqueue_workflow(QUEUE, echo, i) for i in range(n)]
    return [handle.get_result() for handle in handles]


@DBOS.workflow()
def chain_workflow(n: int) -> int:
    value = 0
    for _ in range(n):
        value = echo(value + 1)
    return value


@DBOS.workflow()
def hello_workflow(name: str) -> str:
    greeting = build_greeting(name)
    count_letters(greeting)
    return greeting


class Session:
    def fanout(self, n: int) -> list[int]:
        return fanout_workflow(n)

    def chain(self, n: int) -> int:
        return chain_workflow(n)

    def hello(self, name: str) -> str:
        return hello_workflow(name)


def system_database_url() -> str:
    """A new database's URL in the runner's cluster (DBOS creates it on launch)."""
    cluster = make_url(os.environ["BENCH_POSTGRES_URL"])
    return cluster.set(database=f"dbos_{uuid.uuid4().hex}").render_as_string(hide_password=False)


@contextmanager
def start() -> Iterator[Session]:
    config: DBOSConfig = {
        "name": "bench",
        "system_database_url": system_database_url(),
        "log_level": "WARNING",
    }
    DBOS(config=config)
    try:
        DBOS.launch()
        DBOS.register_queue(QUEUE, polling_interval_sec=QUEUE_POLL_S)
        yield Session()
    finally:
        DBOS.destroy()
