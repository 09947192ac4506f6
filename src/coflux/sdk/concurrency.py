"""Coordinating several executions from one: ``group``, ``select`` and ``cancel``.

``group`` labels the calls made in a block so the run's record (and Studio's
graph) folds them into one group; ``select`` waits for the first of several
executions to finish; ``cancel`` cancels several at once. Outside an execution
``group`` does nothing, and ``select`` picks the first already-resolved handle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from coflux.sdk import context
from coflux.sdk.handles import Execution

__all__ = ["cancel", "group", "select"]

H = TypeVar("H", bound=Execution[Any])


@contextlib.contextmanager
def group(name: str | None = None) -> Iterator[None]:
    """Within the block, the calls this execution makes form one group.

    Args:
        name: the group's label in Studio (optional).
    """
    ctx = context.current()
    if ctx is None:
        yield
        return
    with ctx.group(name):
        yield


def select(
    executions: Sequence[H], *, timeout: float | None = None, cancel_remaining: bool = False
) -> tuple[H, list[H]]:
    """Wait for the first of the executions to finish (succeed, fail or end otherwise).

    Args:
        executions: the handles to wait on (at least one).
        timeout: seconds to wait at most (default: the enclosing ``cf.suspense``
            limit, else no limit).
        cancel_remaining: cancel the others once one has finished.

    Returns:
        ``(winner, remaining)``: ``winner.result()`` returns its value or raises its
        error; ``remaining`` are the others, in the order given.

    Raises:
        ValueError: no executions were given.
        TimeoutError: none finished within the timeout.
    """
    if not executions:
        raise ValueError("select needs at least one execution")
    ctx = context.current()
    if ctx is None:
        position: int | None = 0  # outside an execution every handle is already resolved
    else:
        limit = timeout if timeout is not None else context._suspense.get()
        position = ctx.first_resolved([e.id for e in executions], limit)
    if position is None:
        raise TimeoutError(f"none of {len(executions)} executions finished within {limit} s")
    winner = executions[position]
    remaining = [e for i, e in enumerate(executions) if i != position]
    if cancel_remaining:
        cancel(remaining)
    return winner, remaining


def cancel(executions: Sequence[Execution[Any]]) -> None:
    """Cancel each execution (and what it started); finished ones are left as they are."""
    for execution in executions:
        execution.cancel()
