"""Execution and environment states, and the one table of legal transitions.

The table is SPEC §3 written as data; ``transition`` is the only way to move an
execution between states, and it raises ``InvalidTransition`` without changing
anything when the table does not allow the move.
"""

from __future__ import annotations

import enum

from coflux.errors import InvalidTransition


class ExecutionState(enum.Enum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    TIMED_OUT = "timed_out"
    CACHED = "cached"
    DEFERRED = "deferred"
    SPAWNED = "spawned"

    @property
    def terminal(self) -> bool:
        return not TRANSITIONS[self]


Q = ExecutionState
TRANSITIONS: dict[ExecutionState, frozenset[ExecutionState]] = {
    Q.QUEUED: frozenset({Q.ASSIGNED, Q.CACHED, Q.DEFERRED, Q.SPAWNED, Q.CANCELLED}),
    # Back to the queue: an assignment that never reached its agent (sessions.py).
    Q.ASSIGNED: frozenset(
        {Q.QUEUED, Q.SUCCEEDED, Q.FAILED, Q.ABANDONED, Q.CANCELLED, Q.SUSPENDED, Q.TIMED_OUT}
    ),
    Q.SUCCEEDED: frozenset(),
    Q.FAILED: frozenset(),
    Q.ABANDONED: frozenset(),
    Q.CANCELLED: frozenset(),
    Q.SUSPENDED: frozenset(),
    Q.TIMED_OUT: frozenset(),
    Q.CACHED: frozenset(),
    Q.DEFERRED: frozenset(),
    Q.SPAWNED: frozenset(),
}

# States in which an execution stands in for another one (its leader): terminal
# here, but it takes the leader's final outcome as its own, so its run is not
# done with it until that outcome exists.
STANDING_IN: frozenset[ExecutionState] = frozenset({Q.SPAWNED, Q.CACHED, Q.DEFERRED})
del Q


def transition(
    execution_id: str, current: ExecutionState, requested: ExecutionState
) -> ExecutionState:
    """Return ``requested`` if the table allows ``current -> requested``.

    Raises:
        InvalidTransition: the move is not in ``TRANSITIONS``.
    """
    if requested not in TRANSITIONS[current]:
        raise InvalidTransition(execution_id, current, requested)
    return requested


class EnvironmentStatus(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"
