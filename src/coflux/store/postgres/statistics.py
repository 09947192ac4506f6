"""Statistics for the planner, before autovacuum has gathered any.

The batch's function (``writes.append_function``) finds every row it reads or
changes by one primary-key lookup, from plans PL/pgSQL makes once per connection
and keeps. Those plans are right once the planner knows what a project is: with
statistics, ``project_id = $1`` matches a project's every row, so the primary key
(project and id) is the only selective index. With none (a new database, until
autovacuum's first ANALYZE a minute or more after enough rows changed) the planner
guesses that the project matches 0.5% of a table it believes tiny, finds the
primary key and ``executions_by_run`` equally cheap, may take the second, and
keeps that plan while the table grows: every lookup then reads the project's every
execution (a batch of 1,000 completions took 0.9 s at 20,000 executions).

So a server that opens a database whose tables have never been analysed runs
ANALYZE on them itself, once, as soon as its stores have written ``THRESHOLD``
executions: small tables are cheap to read whatever the plan, and from then on
the statistics say what a project is, however the tables grow (autovacuum keeps
them current). ANALYZE also makes every connection plan its statements again.
It runs on the thread that wrote the batch, after its commit, one time: tens of
milliseconds. A user who may not ANALYZE (it needs the tables' owner) only gets a
warning; autovacuum then does it later.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)

# The tables whose rows the batch's function looks up.
TABLES = ("environments", "runs", "steps", "executions", "active_executions", "assets")
THRESHOLD = 500  # executions written before the ANALYZE

_NEVER_ANALYSED = """
SELECT NOT EXISTS (
    SELECT FROM pg_stats
    WHERE schemaname = current_schema() AND tablename = 'executions' AND attname = 'project_id'
)
"""


def never_analysed(conn: psycopg.Connection[Any]) -> bool:
    """Whether the planner has no statistics of the executions' projects yet."""
    row = conn.execute(_NEVER_ANALYSED).fetchone()
    return bool(row and row[0])


class Statistics:
    """Counts the executions written, and analyses the tables once, if they need it."""

    def __init__(self, pool: ConnectionPool[Any], *, needed: bool) -> None:
        self._pool = pool
        self._needed = needed
        self._written = 0
        self._lock = threading.Lock()

    @property
    def needed(self) -> bool:
        return self._needed

    def written(self, executions: int) -> None:
        """Note ``executions`` new executions, committed; analyse at the threshold."""
        if not self._needed or not executions:
            return
        with self._lock:
            self._written += executions
            if not self._needed or self._written < THRESHOLD:
                return
            self._needed = False  # once, whatever happens
        try:
            with self._pool.connection() as conn:
                conn.execute(f"ANALYZE {', '.join(TABLES)}")
        except psycopg.Error as e:
            logger.warning("could not ANALYZE the new tables (autovacuum will): %s", e)
