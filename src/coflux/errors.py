"""The one error tree of the engine.

::

    CofluxError
    ├── ExecutionError             an awaited execution did not succeed
    │   ├── RemoteError            user code raised (type, message, remote traceback)
    │   ├── ExecutionCancelled     the engine ended it: cancelled
    │   └── ExecutionAbandoned     the engine ended it: its agent went away
    ├── Refused                    nothing was changed; carries an HTTP status and a reason
    │   ├── BadRequest             (400) bad input
    │   │   ├── NotFound           (404) unknown project, environment, run, ...
    │   │   ├── Conflict           (409) the request clashes with current state
    │   │   └── SessionRefused     (403) a hello named a session without its secret
    │   └── Unavailable            (503) the engine cannot serve this now; retry later
    │       └── ProjectUnavailable a project failed and is being rebuilt, or cannot open
    └── InvalidTransition          an execution cannot move between two states

``rebuild_remote_error`` turns a recorded ``ErrorInfo`` back into an exception: an
instance of the original type when that type can be imported and built from a
message (so ``except ValueError`` still matches), else a ``RemoteError``. Either
way the exception carries ``remote_type`` and ``remote_traceback``.
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
    """User code raised an exception whose type could not be rebuilt here."""

    def __init__(self, type_name: str, message: str, traceback: str = "") -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.remote_type = type_name
        self.remote_message = message
        self.remote_traceback = traceback


class ExecutionCancelled(ExecutionError):
    """The execution was cancelled."""


class ExecutionAbandoned(ExecutionError):
    """The execution's agent stopped responding, so its outcome is unknown."""


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


def rebuild_remote_error(type_name: str, message: str, traceback: str = "") -> BaseException:
    """Rebuild an exception recorded by another process.

    Args:
        type_name: the qualified name of the original type (``"builtins.ValueError"``).
        message: ``str()`` of the original exception.
        traceback: the formatted remote traceback.

    Returns:
        An instance of the original type when possible, else a ``RemoteError``.
    """
    found = _import_type(type_name)
    if found is not None and issubclass(found, Exception) and not issubclass(found, CofluxError):
        try:
            error = found(message)
        except Exception:  # a constructor that wants other arguments
            error = None
        if error is not None:
            error.remote_type = type_name  # type: ignore[attr-defined]
            error.remote_traceback = traceback  # type: ignore[attr-defined]
            error.add_note(f"Raised remotely:\n{traceback}" if traceback else "Raised remotely")
            return error
    return RemoteError(type_name, message, traceback)
