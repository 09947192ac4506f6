"""The one error tree of the engine.

::

    CofluxError
    ├── ExecutionError             an awaited execution did not succeed
    │   ├── RemoteError            user code raised (type, message, remote traceback)
    │   └── ExecutionTerminated    the engine ended it, not its code:
    │       ├── ExecutionCancelled     cancelled
    │       ├── ExecutionAbandoned     its agent went away
    │       └── ExecutionTimeout       it ran past its ``timeout``
    ├── InputDismissed             a person dismissed the input (``cf.Prompt``) it waited for
    ├── Refused                    nothing was changed; carries an HTTP status and a reason
    │   ├── BadRequest             (400) bad input
    │   │   ├── NotFound           (404) unknown project, environment, run, ...
    │   │   ├── Conflict           (409) the request clashes with current state
    │   │   └── SessionRefused     (403) a hello named a session without its secret
    │   └── Unavailable            (503) the engine cannot serve this now; retry later
    │       ├── ProjectUnavailable a project failed and is being rebuilt, or cannot open
    │       └── ProjectOwnedElsewhere  another server (on one database) owns the project
    └── InvalidTransition          an execution cannot move between two states

``rebuild_remote_error`` turns a recorded ``ErrorInfo`` back into an exception: when
the original type can be imported, an instance of a class deriving from both
``RemoteError`` and that type (so ``except ValueError`` and ``except
cf.ExecutionError`` both match), else a plain ``RemoteError``. Either way it
carries ``remote_type``, ``remote_message`` and ``remote_traceback`` (and
upstream Coflux's names for the first two, ``error_type`` and ``error_message``),
and its ``str()`` is the original's, unchanged however many callers re-raise it.

Upstream Coflux (0.11) puts ``ExecutionTerminated`` beside ``ExecutionError``
rather than under it; here it is under it, so that ``except cf.ExecutionError``
keeps catching a cancelled or abandoned execution as it always has, and
``except cf.ExecutionTerminated`` (or one of its classes) works as upstream.
"""

from __future__ import annotations

import builtins
import importlib
from typing import Any


class CofluxError(Exception):
    """Base of every error the engine raises."""


class ExecutionError(CofluxError):
    """An execution that was waited on did not succeed."""


class RemoteError(ExecutionError):
    """User code raised an exception (its type is ``remote_type``).

    Raised as is when that type could not be imported here; otherwise the
    exception raised is also an instance of the original type.
    """

    def __init__(self, type_name: str, message: str, traceback: str = "") -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self._remember(type_name, message, traceback)

    def _remember(self, type_name: str, message: str, traceback: str) -> None:
        self.remote_type = type_name
        self.remote_message = message
        self.remote_traceback = traceback

    @property
    def error_type(self) -> str:
        """Upstream Coflux's name for ``remote_type``."""
        return self.remote_type

    @property
    def error_message(self) -> str:
        """Upstream Coflux's name for ``remote_message``."""
        return self.remote_message

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt again on the other side (a class made here is not importable).
        return (
            rebuild_remote_error,
            (self.remote_type, self.remote_message, self.remote_traceback),
        )


class _Rebuilt(RemoteError):
    """Base of the classes deriving from ``RemoteError`` and an original type."""

    def __str__(self) -> str:
        # The original's str() as recorded: KeyError's own __str__ would quote it again.
        return self.remote_message


class ExecutionTerminated(ExecutionError):
    """The engine ended the execution (its own code did not fail)."""


class ExecutionCancelled(ExecutionTerminated):
    """The execution was cancelled."""


class ExecutionAbandoned(ExecutionTerminated):
    """The execution's agent stopped responding, so its outcome is unknown."""


class ExecutionTimeout(ExecutionTerminated):
    """The execution ran past its ``timeout`` and its process was stopped.

    Not a ``TimeoutError``: that is a *wait* that ran out (``result(timeout=)``,
    ``cf.select``), which leaves the awaited execution running.
    """


class InputDismissed(CofluxError):
    """The input an execution waited for (``cf.Prompt``) was dismissed, not answered."""

    def __init__(self, message: str = "input was dismissed") -> None:
        super().__init__(message)


class Refused(CofluxError):
    """A request that was refused, changing nothing; every edge reports it alike.

    Args:
        reason: a short machine-readable name for the problem (``"invalid_json"``).
        message: a sentence a person can act on.
    """

    status = 400

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class BadRequest(Refused):
    """Bad input from a client: nothing was changed."""


class NotFound(BadRequest):
    status = 404


class Conflict(BadRequest):
    status = 409


class SessionRefused(BadRequest):
    """An agent's hello named a session but did not carry that session's secret."""

    status = 403


class Unavailable(Refused):
    """The engine cannot serve a request now, through no fault of the caller:
    the same request may succeed later."""

    status = 503


class ProjectUnavailable(Unavailable):
    """A project's owner failed (and is being rebuilt from its store), or its store
    could not be opened at all."""

    def __init__(self, project: str, detail: str) -> None:
        super().__init__("project_unavailable", f"project {project} is unavailable: {detail}")
        self.project = project


class ProjectOwnedElsewhere(Unavailable):
    """Another server owns the project now (several servers share one database):
    this one may not write it, and serves it again only once it acquires it."""

    def __init__(self, project: str, detail: str) -> None:
        super().__init__(
            "project_owned_elsewhere",
            f"project {project} is not served by this server now: {detail}",
        )
        self.project = project
        self.detail = detail


class InvalidTransition(CofluxError):
    """An execution was asked to move to a state its current state cannot reach."""

    def __init__(self, execution_id: str, current: Any, requested: Any) -> None:
        super().__init__(
            f"execution {execution_id} cannot go from {current.value} to {requested.value}"
        )
        self.execution_id = execution_id
        self.current = current
        self.requested = requested


def _import_type(qualified: str) -> type[BaseException] | None:
    module_name, _, name = qualified.rpartition(".")
    try:
        module = (
            builtins if module_name in ("", "builtins") else importlib.import_module(module_name)
        )
    except Exception:  # importing user modules can fail in any way
        return None
    found = getattr(module, name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return found
    return None


_rebuilt_classes: dict[type[BaseException], type[_Rebuilt] | None] = {}


def _rebuilt_class(original: type[Exception]) -> type[_Rebuilt] | None:
    """The class deriving from ``_Rebuilt`` and ``original`` (made once per type)."""
    if original not in _rebuilt_classes:
        try:
            made: type[_Rebuilt] | None = type(
                original.__name__,
                (_Rebuilt, original),
                {"__module__": original.__module__, "__qualname__": original.__qualname__},
            )
        except TypeError:  # e.g. a final type, or an incompatible instance layout
            made = None
        _rebuilt_classes[original] = made
    return _rebuilt_classes[original]


def rebuild_remote_error(type_name: str, message: str, traceback: str = "") -> BaseException:
    """Rebuild an exception recorded by another process.

    Args:
        type_name: the qualified name of the original type (``"builtins.ValueError"``).
        message: ``str()`` of the original exception.
        traceback: the formatted remote traceback.

    Returns:
        An instance of both ``RemoteError`` and the original type when that
        type can be imported and built from a message alone, else a ``RemoteError``.
    """
    found = _import_type(type_name)
    if found is not None and issubclass(found, Exception) and not issubclass(found, CofluxError):
        rebuilt = _rebuilt_class(found)
        if rebuilt is not None:
            try:
                error = rebuilt.__new__(rebuilt, message)
                found.__init__(error, message)  # the original's own set-up, if it takes a message
            except Exception:  # a constructor that wants other arguments
                error = None
            if error is not None:
                error._remember(type_name, message, traceback)
                error.add_note(f"Raised remotely:\n{traceback}" if traceback else "Raised remotely")
                return error
    return RemoteError(type_name, message, traceback)
