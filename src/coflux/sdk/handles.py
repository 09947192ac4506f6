"""Handles to things that live outside the current execution: ``Execution``, ``Asset``.

An ``Execution`` is a future for the result of a step. It is bound to a
*backend* that knows how to wait for and cancel it: the execution context that
submitted it, an already-known local outcome (outside an execution), or none at
all. An unbound handle (one that was unpickled or deserialised without a
resolver) finds the current execution context the first time it is waited on,
which is what lets handles be passed between executions and resolve lazily.

An ``Asset`` names files an execution persisted (``cf.persist_asset``, or
``cf.asset`` as upstream Coflux 0.11 makes them) and carries their description,
so a receiver can inspect it before restoring it; its ``entries`` (each an
``AssetEntry``: one file, by path and blob key) are asked of the server once,
when first needed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, cast, overload

T = TypeVar("T")
D = TypeVar("D")

__all__ = ["Asset", "AssetEntry", "Execution"]


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

    __slots__ = ("_backend", "_id", "_pending_id", "_repository", "_target")

    def __init__(
        self,
        execution_id: str | Callable[[], str],
        backend: ExecutionBackend | None = None,
        *,
        repository: str | None = None,
        target: str | None = None,
    ) -> None:
        self._repository = repository
        self._target = target
        # A submission does not wait for the server's reply (so many can be in
        # flight at once); the id is then resolved the first time it is needed.
        self._id: str | None = execution_id if isinstance(execution_id, str) else None
        self._pending_id = None if isinstance(execution_id, str) else execution_id
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
        """The execution's id (waits for the server to confirm a fresh submission).

        Raises:
            Exception: the server refused the submission (rebuilt from its error).
        """
        if self._id is None:
            assert self._pending_id is not None
            self._id = self._pending_id()
        return self._id

    @property
    def module(self) -> str | None:
        """The repository of the called target (upstream Coflux's name for it);
        ``None`` on a handle that was passed in rather than made by a call."""
        return self._repository

    @property
    def repository(self) -> str | None:
        """The repository of the called target (``None`` as for ``module``)."""
        return self._repository

    @property
    def target(self) -> str | None:
        """The called target's name (``None`` as for ``module``)."""
        return self._target

    def result(self) -> T:
        """Wait for the execution to finish and return its result.

        Returns:
            The value the execution returned.

        Raises:
            Exception: the execution's own exception, rebuilt (or ``RemoteError``).
            ExecutionCancelled: the execution was cancelled.
            ExecutionAbandoned: its agent went away.
        """
        return cast(T, self._bound().result(self.id, None))

    @overload
    def poll(self, timeout: float | None = None) -> T | None: ...

    @overload
    def poll(self, timeout: float | None = None, *, default: D) -> T | D: ...

    def poll(self, timeout: float | None = None, default: Any = None) -> Any:
        """Wait at most ``timeout`` seconds for the result; ``default`` if it is not ready.

        Never suspends the execution (not even inside ``cf.suspense``).

        Args:
            timeout: seconds to wait (``None`` or 0: check without waiting).
            default: what to return when the execution has not finished.

        Returns:
            The value the execution returned, or ``default``.

        Raises:
            Exception: as ``result()``, when it finished unsuccessfully.
        """
        try:
            return self._bound().result(self.id, timeout or 0.0)
        except TimeoutError as e:
            if type(e) is TimeoutError:  # the wait ran out (a rebuilt remote one is a subclass)
                return default
            raise

    def cancel(self) -> None:
        """Ask the server to cancel the execution (and its unfinished descendants)."""
        self._bound().cancel(self.id)

    def _bound(self) -> ExecutionBackend:
        if self._backend is None:
            # Imported here because the context module imports this one.
            from coflux.sdk import context

            self._backend = context.require(f"waiting for execution {self.id}")
        return self._backend

    def __reduce__(self) -> tuple[Any, ...]:
        # Only the id travels; the receiver binds the handle to its own context.
        return (Execution, (self.id,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Execution) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("execution", self.id))

    def __repr__(self) -> str:
        return f"Execution({self.id!r})"


class AssetEntry(NamedTuple):
    """One file of an asset (upstream Coflux 0.11's ``AssetEntry``).

    Entries are content-addressed: ``blob_key`` is the sha256 of the file, so an
    entry can be put into another asset (``cf.asset({"x.csv": entry})``) without
    its content being uploaded again.

    Attributes:
        path: where the file is in the asset (relative, POSIX separators).
        blob_key: the content's key in the blob store.
        size: its length in bytes.
        metadata: what is known about it: ``type``, its media type, when the
            path's extension names one.
    """

    path: str
    blob_key: str
    size: int
    metadata: dict[str, Any]

    @property
    def type(self) -> str | None:
        """The file's media type (``"text/csv"``), if its extension names one."""
        found = self.metadata.get("type")
        return found if isinstance(found, str) else None

    def restore(self, *, at: str | os.PathLike[str] | None = None) -> Path:
        """Write this file at its path under the working directory (or under ``at``).

        Args:
            at: the directory to restore under (relative to the working directory).

        Returns:
            Where the file was written: ``AT/PATH``.

        Raises:
            RuntimeError: not inside a Coflux execution.
            coflux.sdk.assets.UnsafeAssetPath: the path would lead outside ``at``.
        """
        # Imported here because those modules import this one.
        from coflux.sdk.assets import restore_entries
        from coflux.sdk.context import require

        restored = restore_entries(require(f"restoring {self.path!r}"), [self], at)
        return restored[self.path]


class Asset:
    """A reference to files that an execution persisted.

    Returned by ``cf.persist_asset`` (a file or a directory) and by ``cf.asset``
    (a collection of entries, as upstream Coflux 0.11 makes them); can be passed
    to other executions (as an argument or inside a result), which ``restore``
    it (or some of its ``entries``) into their working directory. Equal assets
    have equal ids.

    Attributes are ``None`` on a handle made from an id alone.
    """

    __slots__ = ("_entries", "_file_count", "_id", "_kind", "_metadata", "_path", "_size")

    def __init__(
        self,
        asset_id: str,
        *,
        kind: str | None = None,
        path: str | None = None,
        size: int | None = None,
        file_count: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._id = asset_id
        self._kind = kind
        self._path = path
        self._size = size
        self._file_count = file_count
        self._metadata = dict(metadata) if metadata is not None else None
        self._entries: tuple[AssetEntry, ...] | None = None

    @property
    def id(self) -> str:
        """The asset's id."""
        return self._id

    @property
    def kind(self) -> str | None:
        """``"file"`` or ``"directory"`` (a ``cf.asset`` collection is a directory)."""
        return self._kind

    @property
    def path(self) -> str | None:
        """Where the asset was, relative to the persisting execution's working
        directory (``"."`` for the whole directory); restored to the same place."""
        return self._path

    @property
    def size(self) -> int | None:
        """Total size of its files, in bytes."""
        return self._size

    @property
    def file_count(self) -> int | None:
        """How many files it holds."""
        return self._file_count

    @property
    def metadata(self) -> dict[str, Any] | None:
        """What was recorded about it (e.g. ``content_type``, ``match``, ``name``)."""
        return None if self._metadata is None else dict(self._metadata)

    @property
    def name(self) -> str | None:
        """The name given to ``cf.asset(name=...)``, if any."""
        found = (self._metadata or {}).get("name")
        return found if isinstance(found, str) else None

    @property
    def entries(self) -> list[AssetEntry]:
        """Its files, in path order (asked of the server the first time).

        Raises:
            RuntimeError: not inside a Coflux execution.
            LookupError: the server does not know the asset.
        """
        if self._entries is None:
            # Imported here because those modules import this one.
            from coflux.sdk.assets import describe
            from coflux.sdk.context import require

            described = describe(require(f"reading asset {self._id}"), self._id)
            self._learn(described)
        assert self._entries is not None
        return list(self._entries)

    def _learn(self, described: Asset) -> None:
        """Take what the server answered about this asset (its entries included)."""
        self._kind, self._path = described._kind, described._path
        self._size, self._file_count = described._size, described._file_count
        self._metadata = described._metadata
        self._entries = described._entries

    def __getitem__(self, path: str) -> AssetEntry:
        """The entry at ``path`` (``asset["images/1.jpg"]``).

        Raises:
            KeyError: the asset has no file at ``path``.
        """
        for entry in self.entries:
            if entry.path == path:
                return entry
        raise KeyError(path)

    def __contains__(self, path: object) -> bool:
        return any(entry.path == path for entry in self.entries)

    def info(self) -> dict[str, Any] | None:
        """Its attributes as plain JSON (``None`` if only the id is known)."""
        if self._kind is None:
            return None
        return {
            "kind": self._kind,
            "path": self._path,
            "size": self._size,
            "file_count": self._file_count,
            "metadata": self._metadata or {},
        }

    @classmethod
    def from_info(cls, asset_id: str, info: Mapping[str, Any] | None) -> Asset:
        """The inverse of ``info()``."""
        if not info:
            return cls(asset_id)
        return cls(
            asset_id,
            kind=info.get("kind"),
            path=info.get("path"),
            size=info.get("size"),
            file_count=info.get("file_count"),
            metadata=info.get("metadata"),
        )

    @overload
    def restore(self) -> Any: ...

    @overload
    def restore(self, to: str | os.PathLike[str]) -> Path: ...

    @overload
    def restore(
        self, *, match: str | None = None, at: str | os.PathLike[str] | None = None
    ) -> dict[str, Path]: ...

    def restore(
        self,
        to: str | os.PathLike[str] | None = None,
        *,
        match: str | None = None,
        at: str | os.PathLike[str] | None = None,
    ) -> Any:
        """Restore the asset's files (or those ``match`` selects) under the working
        directory, or under ``to``/``at`` (relative to it), at their paths in the asset.

        Two shapes, one per API. An asset made by ``cf.asset``, or any asset restored
        with ``match`` or ``at`` (upstream Coflux 0.11), returns a dict: each restored
        entry's path to where it was written. An asset made by ``cf.persist_asset``
        restored plainly or with ``to`` (0.4) returns the restored file or directory
        (a file asset given ``to`` is written as ``to`` itself).

        Args:
            to: the directory to restore into (0.4's name for ``at``).
            match: a glob selecting entries by path (``"images/*.{jpg,png}"``).
            at: the directory to restore into.

        Returns:
            ``dict[str, Path]`` or ``Path``, as above.

        Raises:
            RuntimeError: not inside a Coflux execution.
            LookupError: the server does not know the asset.
            ValueError: both ``to`` and ``at`` given.
            coflux.sdk.assets.UnsafeAssetPath: an entry would land outside the
                restore directory (an absolute path, ``..``, or a symlink
                pointing outside); nothing is written then.
        """
        # Imported here because those modules import this one.
        from coflux.sdk.assets import restore, restore_selected
        from coflux.sdk.context import require

        if to is not None and at is not None:
            raise ValueError("restore() takes `to` or `at`, not both (they mean the same)")
        ctx = require(f"restoring asset {self._id}")
        if match is None and at is None:
            return restore(ctx, self, to)
        return restore_selected(ctx, self, match, at if at is not None else to)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Asset.from_info, (self._id, self.info()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("asset", self._id))

    def __repr__(self) -> str:
        if self._path is None:
            return f"Asset({self._id!r})"
        return f"Asset({self._id!r}, kind={self._kind!r}, path={self._path!r})"
