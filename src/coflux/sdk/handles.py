"""Handles to things that live outside the current execution: ``Execution``, ``Asset``.

An ``Execution`` is a future for the result of a step. It is bound to a
*backend* that knows how to wait for and cancel it: the execution context that
submitted it, an already-known local outcome (outside an execution), or none at
all. An unbound handle (one that was unpickled or deserialised without a
resolver) finds the current execution context the first time it is waited on,
which is what lets handles be passed between executions and resolve lazily.
"""

from __future__ import annotations

import uuid
from typing import Any, Generic, Protocol, TypeVar, cast

T = TypeVar("T")

__all__ = ["Asset", "Execution"]


class ExecutionBackend(Protocol):
    """What an ``Execution`` handle delegates to."""

    def result(self, execution_id: str, timeout: float | None) -> Any: ...

    def cancel(self, execution_id: str) -> None: ...


class _Resolved:
    """The backend of a handle whose outcome is already known (no context)."""

    def __init__(self, value: Any, error: BaseException | None) -> None:
        self._value = value
        self._error = error

    def result(self, execution_id: str, timeout: float | None) -> Any:
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self, execution_id: str) -> None:
        pass  # already finished: nothing to cancel


class Execution(Generic[T]):
    """A future for the result of an execution.

    Returned by ``target.submit(...)``; can be passed as an argument to another
    target or returned from one.
    """

    __slots__ = ("_backend", "_id")

    def __init__(self, execution_id: str, backend: ExecutionBackend | None = None) -> None:
        self._id = execution_id
        self._backend = backend

    @classmethod
    def resolved(cls, value: Any = None, error: BaseException | None = None) -> Execution[Any]:
        """A handle whose outcome is already known (used outside an execution).

        Args:
            value: the result.
            error: the exception ``result()`` raises instead, if any.

        Returns:
            A handle with a local, made-up id.
        """
        return cls(f"local-{uuid.uuid4().hex[:16]}", _Resolved(value, error))

    @property
    def id(self) -> str:
        """The execution's id."""
        return self._id

    def result(self) -> T:
        """Wait for the execution to finish and return its result.

        Returns:
            The value the execution returned.

        Raises:
            Exception: the execution's own exception, rebuilt (or ``RemoteError``).
            ExecutionCancelled: the execution was cancelled.
            ExecutionAbandoned: its agent went away.
        """
        return cast(T, self._bound().result(self._id, None))

    def poll(self, timeout: float) -> T:
        """Wait at most ``timeout`` seconds for the result.

        Args:
            timeout: seconds to wait (0 checks without waiting).

        Returns:
            The value the execution returned.

        Raises:
            TimeoutError: the execution has not finished within ``timeout``.
            Exception: as ``result()``.
        """
        return cast(T, self._bound().result(self._id, timeout))

    def cancel(self) -> None:
        """Ask the server to cancel the execution (and its unfinished descendants)."""
        self._bound().cancel(self._id)

    def _bound(self) -> ExecutionBackend:
        if self._backend is None:
            # Imported here because the context module imports this one.
            from coflux.sdk import context

            self._backend = context.require(f"waiting for execution {self._id}")
        return self._backend

    def __reduce__(self) -> tuple[Any, ...]:
        # Only the id travels; the receiver binds the handle to its own context.
        return (Execution, (self._id,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Execution) and other._id == self._id

    def __hash__(self) -> int:
        return hash(("execution", self._id))

    def __repr__(self) -> str:
        return f"Execution({self._id!r})"


class Asset:
    """A reference to files persisted by an execution.

    Assets are not supported yet: this handle exists so that the API is in
    place; ``restore`` raises ``NotImplementedError`` until assets arrive.
    """

    __slots__ = ("_id",)

    def __init__(self, asset_id: str) -> None:
        self._id = asset_id

    @property
    def id(self) -> str:
        """The asset's id."""
        return self._id

    def restore(self, to: str | None = None) -> Any:
        """Restore the asset's files into ``to`` (default: the working directory).

        Args:
            to: the directory to restore into.

        Returns:
            The path of the restored files.

        Raises:
            NotImplementedError: always, for now.
        """
        raise NotImplementedError("Asset.restore arrives with assets")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Asset, (self._id,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and other._id == self._id

    def __hash__(self) -> int:
        return hash(("asset", self._id))

    def __repr__(self) -> str:
        return f"Asset({self._id!r})"
