"""The agent's settings, and parsing of the values users type for them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from coflux.agent.blobs import DEFAULT_CACHE_SIZE
from coflux.serialization import DEFAULT_THRESHOLD

_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of bytes, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _env_flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0 (true or false), not {raw!r}")


def default_concurrency() -> int:
    """Like ``ThreadPoolExecutor``: CPUs + 4 (executions mostly wait on I/O), at most 32."""
    return min(32, (os.cpu_count() or 1) + 4)


def default_max_executors(concurrency: int) -> int:
    """The process cap when none is given: room for 32 executions waiting on their
    children (a nested fan-out), or 4 per concurrency slot when that is more."""
    return max(32, 4 * concurrency)


@dataclass(frozen=True)
class AgentSettings:
    """Everything ``coflux.agent.agent.run`` needs.

    ``provides`` maps a tag to the values this agent offers (``{"gpu": ("A100",)}``).
    ``register`` posts the manifests to the server on start and after reloads;
    ``watch`` reloads the pool when the repositories' source files change;
    ``isolate`` runs each execution in a fresh process. ``concurrency`` bounds
    the executions that run at once, not counting those blocked waiting for a
    result; ``max_executors`` (default ``default_max_executors``) bounds all of
    them, so the executor processes (each ~30 MB), blocked ones included.
    ``prefetch`` more executions may be assigned to wait here for a slot (0: none;
    ``protocol.Hello`` says why, docs/operating.md when to use it).

    Blobs (read from the environment by default): values whose encoding is
    longer than ``blob_threshold`` bytes (``COFLUX_BLOB_THRESHOLD``) go to the
    server's blob store; the agent's executors share a cache of blobs in
    ``blob_cache_dir`` (``COFLUX_BLOB_CACHE_DIR``; default: a temporary
    directory removed when the agent stops) of at most ``blob_cache_size``
    bytes (``COFLUX_BLOB_CACHE_SIZE``).

    ``no_pickle`` (``COFLUX_AGENT_NO_PICKLE=1`` by default) turns pickle off in
    the executors: they neither unpickle an argument or result nor pickle one,
    and the execution fails instead (docs/values.md, "Trust model").
    """

    host: str
    project: str
    environment: str
    repositories: tuple[str, ...]
    token: str | None = None
    concurrency: int = field(default_factory=default_concurrency)
    max_executors: int | None = None
    prefetch: int = 0
    provides: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    register: bool = False
    watch: bool = False
    isolate: bool = False
    reconnect_delay_min: float = 0.1
    reconnect_delay_max: float = 2.0
    stop_grace: float = 10.0  # seconds running executions get to finish on stop
    ack_grace: float = 5.0  # seconds to wait for completions to be acknowledged on stop
    blob_threshold: int = field(
        default_factory=lambda: _env_int("COFLUX_BLOB_THRESHOLD", DEFAULT_THRESHOLD)
    )
    blob_cache_dir: str | None = field(
        default_factory=lambda: os.environ.get("COFLUX_BLOB_CACHE_DIR") or None
    )
    blob_cache_size: int = field(
        default_factory=lambda: _env_int("COFLUX_BLOB_CACHE_SIZE", DEFAULT_CACHE_SIZE)
    )
    no_pickle: bool = field(default_factory=lambda: _env_flag("COFLUX_AGENT_NO_PICKLE"))

    def __post_init__(self) -> None:
        if self.prefetch < 0:
            raise ValueError(f"prefetch must be at least 0 (got {self.prefetch})")
        if self.max_executors is not None and self.max_executors < self.concurrency:
            raise ValueError(
                f"max executors ({self.max_executors}) must be at least the concurrency"
                f" ({self.concurrency})"
            )

    @property
    def process_cap(self) -> int:
        """The most executions (so executor processes) the agent runs at once."""
        if self.max_executors is not None:
            return self.max_executors
        return default_max_executors(self.concurrency)


def parse_provides(items: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Parse ``KEY=VALUE[,VALUE...]`` items; repeated keys accumulate their values.

    Raises:
        ValueError: an item is not of that form (the message names it).
    """
    provides: dict[str, tuple[str, ...]] = {}
    for item in items:
        key, sep, rest = item.partition("=")
        key = key.strip()
        values = tuple(v.strip() for v in rest.split(","))
        if not sep or not _KEY.match(key) or not all(values):
            raise ValueError(f"invalid provides {item!r}: expected KEY=VALUE[,VALUE...]")
        merged = provides.get(key, ()) + values
        provides[key] = tuple(dict.fromkeys(merged))  # keep order, drop duplicates
    return provides
