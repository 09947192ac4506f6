"""The keys that make two calls "equal" for caching, memoising and deferring.

A key is the sha256 of a canonical encoding of what identifies the call: the
cache namespace and version (or the target) and the serialised arguments at the
chosen parameter positions. Arguments are identified by position, not name, so
renaming a parameter keeps its cache. Sets are encoded in a canonical order so
that equal sets give equal keys in every process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgspec

from coflux import protocol

_encoder = msgspec.json.Encoder(order="deterministic")
_UNORDERED = ("set", "frozenset")


def _canonical(data: Any) -> Any:
    if isinstance(data, list):
        return [_canonical(item) for item in data]
    if isinstance(data, dict):
        canonical = {key: _canonical(value) for key, value in data.items()}
        if canonical.get("$") in _UNORDERED and isinstance(canonical.get("v"), list):
            canonical["v"] = sorted(canonical["v"], key=_encoder.encode)
        return canonical
    return data


def _arguments(
    arguments: tuple[protocol.Value, ...], positions: tuple[int, ...] | None
) -> list[Any]:
    chosen = range(len(arguments)) if positions is None else positions
    return [
        [arguments[i].format, arguments[i].blob, _canonical(arguments[i].data)]
        if i < len(arguments)
        else None
        for i in chosen
    ]


def _digest(*parts: Any) -> str:
    return hashlib.sha256(_encoder.encode(parts)).hexdigest()


@dataclass(frozen=True, slots=True)
class StepKeys:
    cache: str | None = None
    memo: str | None = None
    defer: str | None = None


def step_keys(
    repository: str,
    target: str,
    arguments: tuple[protocol.Value, ...],
    options: protocol.TargetOptions,
) -> StepKeys:
    """The cache, memo and defer keys of a call (None where the option is off)."""
    cache = None
    if options.cache is not None:
        namespace = options.cache.namespace or f"{repository}:{target}"
        cache = _digest(
            "cache", namespace, options.cache.version, _arguments(arguments, options.cache.params)
        )
    memo = None
    if options.memo is not None and options.memo is not False:
        positions = options.memo if isinstance(options.memo, tuple) and options.memo else None
        memo = _digest("memo", repository, target, _arguments(arguments, positions))
    defer = None
    if options.defer is not None:
        defer = _digest("defer", repository, target, _arguments(arguments, options.defer.params))
    return StepKeys(cache, memo, defer)
