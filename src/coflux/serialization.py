"""Values passed between executions: Python objects <-> ``protocol.Value``.

A value travels as a *tagged JSON tree*. JSON types stand for themselves (a list
is a list, a dict with string keys is an object); everything else is an object
with a ``"$"`` key naming its type, e.g. ``{"$": "tuple", "v": [1, 2]}``. A plain
dict that has a ``"$"`` key of its own, or non-string keys, is written as
``{"$": "dict", "v": [[k, v], ...]}``, so an object with ``"$"`` is always a tag.

Types are matched exactly (``type(x) is int``), not with ``isinstance``: a
subclass (``IntEnum``, ``OrderedDict``, a namedtuple) would otherwise come back
as its base type, so subclasses fall through to pickle, which keeps them exact.
Pickle is the last resort and is recorded as such (``{"$": "pickle"}`` and the
value's ``label``) so that the server and UIs never need to unpickle.

Pickle can be turned off (``allow_pickle=False``, what ``coflux agent --no-pickle``
gives its executors): a value that needs it is then neither made nor loaded, and
``PickleDisabledError`` says so. Values from outside any execution (the HTTP
API) are never allowed to carry a pickle: ``refuse_outside_arguments`` is the
server's check, ``find_pickle`` the walk behind it. docs/values.md, "Trust model".

Small values travel inline (``Value.data``). A ``ValueCodec`` with access to the
blob store writes values above its threshold to a *value blob* instead and
passes ``Value.blob`` (the sha256 key). A value blob is::

    coflux-value/1\n
    {"data": N, "segments": [n0, n1, ...]}\n
    <N bytes: the tagged JSON tree>
    <n0 bytes of segment 0><n1 bytes of segment 1>...

In the tree of a blob, a binary payload (of ``bytes``, ``bytearray`` or
``pickle``) may be an integer: the index of a segment holding the raw bytes.
That is what lets a 200 MB ``bytes`` (or NumPy array, through pickle's
out-of-band buffers) be written and read without base64 and without copying
it in memory: segments are written from the value's own buffer and read
straight into the new value's.

This module is imported by ``import coflux``: it uses the standard library and
msgspec only.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import math
import pickle
import uuid
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Protocol

import msgspec

from coflux import protocol
from coflux.errors import BadRequest
from coflux.sdk.handles import Asset, Execution

__all__ = [
    "DEFAULT_THRESHOLD",
    "BinaryWriter",
    "BlobAccess",
    "PickleDisabledError",
    "ValueCodec",
    "deserialize",
    "find_pickle",
    "from_json",
    "log_value",
    "read_value_blob",
    "refuse_outside_arguments",
    "serialize",
    "to_display",
    "value_blob_as_inline",
]

DEFAULT_THRESHOLD = 200
"""Values whose encoding is longer than this many bytes go to the blob store."""

BLOB_MAGIC = b"coflux-value/1\n"

_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1
_json = msgspec.json.Encoder()


class BinaryWriter(Protocol):
    """Where a value blob is written to."""

    def write(self, data: Any, /) -> Any: ...


class BlobAccess(Protocol):
    """How an executor reaches the blob store (``coflux.agent.blobs.BlobClient``)."""

    def store(self, write: Callable[[BinaryWriter], None]) -> tuple[str, int]:
        """Store what ``write`` writes to the file it is given.

        Returns:
            The blob's key and size.
        """
        ...

    def open(self, key: str) -> IO[bytes]:
        """A readable, seekable file with the blob's content (close it after use)."""
        ...

    def upload_file(self, path: str) -> tuple[str, int]:
        """Store a file's content; returns its key and size."""
        ...

    def download_to(self, key: str, destination: str) -> None:
        """Write the blob's content to ``destination`` (replacing what is there)."""
        ...


class PickleDisabledError(TypeError):
    """Pickle is turned off here, and a value needs it: to be made, or to be loaded.

    A ``TypeError``, like any other value that cannot be serialised, so that code
    which falls back on failure (``log_value``) does so here too.
    """


_NO_PICKLE = "pickle is turned off on this agent (coflux agent --no-pickle)"


class _TooDeep(Exception):
    """The value's tree would be nested deeper than ``protocol.MAX_VALUE_DEPTH``."""


# Levels a leaf may add below the innermost container: one for a tagged scalar
# ({"$": "bytes", "v": ...}), two for a pickle with out-of-band buffers ("b": [...]).
_MAX_CONTAINER_DEPTH = protocol.MAX_VALUE_DEPTH - 2


class _Encoder:
    """One serialisation pass: collects the handles found inside the value.

    ``depth`` is how deep in the tree the container being encoded is: a tree
    deeper than the protocol accepts raises ``_TooDeep``, and the value is
    pickled instead (as one that recursion cannot encode is).

    Binary payloads (of bytes, bytearray and pickle) are left in the tree as
    the objects themselves and listed in ``binaries`` as (holder, key), so the
    caller can either let msgspec base64 them (inline) or swap them for
    segment numbers (blob), without ever copying them here.
    """

    def __init__(self, allow_pickle: bool = True) -> None:
        self.allow_pickle = allow_pickle
        self.executions: list[str] = []
        self.assets: list[str] = []
        self.binaries: list[tuple[Any, Any]] = []
        self.binary_size = 0
        self.depth = 0

    def encode(self, value: Any) -> Any:
        kind = type(value)
        if value is None or kind is bool:
            return value
        if kind is str:
            return (
                value
                if _is_utf8(value)
                else _tag("str", _b64(value.encode("utf-8", "surrogatepass")))
            )
        if kind is int:
            return value if _INT_MIN <= value <= _INT_MAX else _tag("int", str(value))
        if kind is float:
            return value if math.isfinite(value) else _tag("float", repr(value))
        if kind is list:
            return self.nested(value, 1)
        if kind is dict:
            return self._encode_dict(value)
        simple = _SIMPLE_ENCODERS.get(kind)
        if simple is not None:
            return simple(self, value)
        return self._encode_other(value)

    def nested(self, items: Iterable[Any], levels: int) -> list[Any]:
        """The items of a container that adds ``levels`` to the tree, encoded."""
        self.enter(levels)
        encoded = [self.encode(item) for item in items]
        self.depth -= levels
        return encoded

    def enter(self, levels: int) -> None:
        self.depth += levels
        if self.depth > _MAX_CONTAINER_DEPTH:
            raise _TooDeep

    def leaf(self, tagged: dict[str, Any]) -> dict[str, Any]:
        """A tagged leaf holding JSON the encoder did not build, once its depth is checked."""
        try:
            protocol.check_depth(tagged, protocol.MAX_VALUE_DEPTH - self.depth)
        except protocol.ProtocolError:
            raise _TooDeep from None
        return tagged

    def binary(self, holder: Any, key: Any, payload: bytes | bytearray | memoryview) -> None:
        self.binaries.append((holder, key))
        self.binary_size += memoryview(payload).nbytes

    def tag_binary(self, name: str, payload: bytes | bytearray) -> dict[str, Any]:
        tagged = {"$": name, "v": payload}
        self.binary(tagged, "v", payload)
        return tagged

    def _encode_dict(self, value: dict[Any, Any]) -> Any:
        if all(type(key) is str and key != "$" and _is_utf8(key) for key in value):
            self.enter(1)
            encoded = {key: self.encode(item) for key, item in value.items()}
            self.depth -= 1
            return encoded
        self.enter(3)  # {"$": "dict", "v": [[key, value], ...]}
        pairs = [[self.encode(k), self.encode(v)] for k, v in value.items()]
        self.depth -= 3
        return _tag("dict", pairs)

    def _encode_other(self, value: Any) -> Any:
        if isinstance(value, Execution):
            self.executions.append(value.id)
            return _tag("execution", value.id)
        if isinstance(value, Asset):
            self.assets.append(value.id)
            tagged = _tag("asset", value.id)
            info = value.info()
            if info is not None:
                tagged["i"] = info
            return self.leaf(tagged)
        kind = type(value)
        name = f"{kind.__module__}:{kind.__qualname__}"
        importable = "<locals>" not in kind.__qualname__  # else only pickle could say it
        if isinstance(value, enum.Enum) and importable:
            self.enter(1)
            encoded = self.encode(value.value)
            self.depth -= 1
            return {"$": "enum", "c": name, "n": value.name, "v": encoded}
        if importable and _rebuildable_dataclass(kind):
            self.enter(2)  # {"$": "dataclass", "v": {field: ...}}
            fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(kind)}
            self.depth -= 2
            return {"$": "dataclass", "c": name, "v": fields}
        # Duck-typed so that serialising never imports pydantic.
        if hasattr(kind, "model_dump") and hasattr(kind, "model_validate"):
            data = value.model_dump(mode="json")
            return self.leaf({"$": "pydantic", "c": name, "v": data})
        return self.pickle(value)

    def pickle(self, value: Any) -> dict[str, Any]:
        if not self.allow_pickle:
            raise PickleDisabledError(
                f"a value of type {_type_name(type(value))} can only be pickled, and {_NO_PICKLE}"
            )
        buffers: list[memoryview] = []

        def out_of_band(buffer: pickle.PickleBuffer) -> bool:
            # Large buffers (NumPy arrays, ...) are kept apart, uncopied.
            try:
                buffers.append(buffer.raw())
            except BufferError:  # not contiguous: let pickle copy it in-band
                return True
            return False

        try:
            data = pickle.dumps(value, protocol=5, buffer_callback=out_of_band)
        except Exception as e:  # pickling user objects can fail in any way
            raise TypeError(
                f"cannot serialise a value of type {_type_name(type(value))}: {e}"
            ) from e
        tagged: dict[str, Any] = {"$": "pickle", "t": _type_name(type(value)), "v": data}
        self.binary(tagged, "v", data)
        if buffers:
            tagged["b"] = buffers
            for index, buffer in enumerate(buffers):
                self.binary(buffers, index, buffer)
        return tagged

    def encode_datetime(self, value: dt.datetime) -> Any:
        tz = value.tzinfo
        if tz is None or type(tz) is dt.timezone:
            return _with_fold(_tag("datetime", value.isoformat()), value.fold)
        if type(tz) is zoneinfo.ZoneInfo and tz.key:
            # The ISO text (wall time + offset) is for people; the zone and the
            # fold make it exact, even for ambiguous or non-existent wall times.
            data = {"$": "datetime", "v": value.isoformat(), "z": tz.key}
            return _with_fold(data, value.fold)
        return self.pickle(value)

    def encode_time(self, value: dt.time) -> Any:
        if value.tzinfo is None or type(value.tzinfo) is dt.timezone:
            return _with_fold(_tag("time", value.isoformat()), value.fold)
        return self.pickle(value)


def _with_fold(data: dict[str, Any], fold: int) -> dict[str, Any]:
    # ISO text has no place for `fold` (which of two equal wall times this is).
    if fold:
        data["f"] = fold
    return data


def _rebuildable_dataclass(kind: type) -> bool:
    """Whether instances of ``kind`` are dataclasses that calling the class with
    their fields makes again (every field is an ``__init__`` parameter)."""
    return dataclasses.is_dataclass(kind) and all(f.init for f in dataclasses.fields(kind))


def _tag(name: str, payload: Any) -> dict[str, Any]:
    return {"$": name, "v": payload}


def _b64(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(data).decode("ascii")


def _is_utf8(text: str) -> bool:
    # Lone surrogates cannot be written as UTF-8 JSON; they are rare, so the
    # common (ASCII) case is checked first for speed.
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _type_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


_SIMPLE_ENCODERS: dict[type, Callable[[_Encoder, Any], Any]] = {
    tuple: lambda enc, v: _tag("tuple", enc.nested(v, 2)),
    set: lambda enc, v: _tag("set", enc.nested(v, 2)),
    frozenset: lambda enc, v: _tag("frozenset", enc.nested(v, 2)),
    bytes: lambda enc, v: enc.tag_binary("bytes", v),
    bytearray: lambda enc, v: enc.tag_binary("bytearray", v),
    dt.datetime: _Encoder.encode_datetime,
    dt.date: lambda enc, v: _tag("date", v.isoformat()),
    dt.time: _Encoder.encode_time,
    dt.timedelta: lambda enc, v: _tag("timedelta", [v.days, v.seconds, v.microseconds]),
    decimal.Decimal: lambda enc, v: _tag("decimal", str(v)),
    uuid.UUID: lambda enc, v: _tag("uuid", str(v)),
}


def _encode(value: Any, allow_pickle: bool = True) -> tuple[_Encoder, Any]:
    encoder = _Encoder(allow_pickle)
    try:
        return encoder, encoder.encode(value)
    except (RecursionError, _TooDeep):
        # A cyclic or very deep structure: pickle copes with both.
        encoder = _Encoder(allow_pickle)
        return encoder, encoder.pickle(value)


def _label(data: Any) -> str | None:
    return data.get("t") if isinstance(data, dict) and data.get("$") == "pickle" else None


def _inline(encoder: _Encoder, data: Any, text: bytes) -> protocol.Value:
    if encoder.binaries:
        # Binary payloads become the base64 text msgspec wrote for them, so an
        # inline value is plain JSON however it travels (msgpack or JSON).
        data = msgspec.json.decode(text)
    return protocol.Value(
        format="json",
        data=data,
        size=len(text),
        label=_label(data),
        executions=tuple(dict.fromkeys(encoder.executions)),
        assets=tuple(dict.fromkeys(encoder.assets)),
    )


def serialize(value: Any, *, allow_pickle: bool = True) -> protocol.Value:
    """Turn a Python value into an inline ``protocol.Value`` (never a blob).

    Args:
        value: any Python value; types the tagged JSON tree cannot express are
            pickled.
        allow_pickle: False refuses a value that only pickle can express.

    Returns:
        A ``Value`` with format ``"json"``, listing the execution and asset
        handles found inside it. ``label`` names the type of a pickled value.

    Raises:
        TypeError: the value (or part of it) can be neither encoded nor pickled.
        PickleDisabledError: it needs pickle, and ``allow_pickle`` is False.
    """
    encoder, data = _encode(value, allow_pickle)
    return _inline(encoder, data, _json.encode(data))


def log_value(value: Any, *, allow_pickle: bool = True) -> protocol.Value:
    """Serialise a log entry's value; one that cannot be serialised is logged by ``repr``.

    A log line must never make the code that logs it fail. With ``allow_pickle``
    False, a value that needs pickle is logged by ``repr`` too.
    """
    try:
        return serialize(value, allow_pickle=allow_pickle)
    except TypeError:
        try:
            text = repr(value)
        except Exception:  # a broken __repr__
            text = f"<{_type_name(type(value))}>"
        return serialize(text)


class _Meta(msgspec.Struct, frozen=True):
    data: int
    segments: list[int]


class ValueCodec:
    """Serialises values for an execution, using the blob store for large ones.

    Args:
        blobs: access to the blob store; ``None`` keeps every value inline.
        threshold: values whose encoding is longer than this many bytes are
            stored as blobs (and passed by reference).
        allow_pickle: False neither makes nor loads a pickle
            (``PickleDisabledError`` instead): ``coflux agent --no-pickle``.
    """

    def __init__(
        self,
        blobs: BlobAccess | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        *,
        allow_pickle: bool = True,
    ) -> None:
        self.blobs = blobs
        self.threshold = threshold
        self.allow_pickle = allow_pickle

    def dump(self, value: Any) -> protocol.Value:
        """Like ``serialize``, but a value above the threshold goes to the blob store.

        Raises:
            TypeError: the value cannot be serialised.
            PickleDisabledError: it needs pickle, which this codec does not allow.
            OSError: the blob store could not be reached (after retries).
        """
        encoder, data = _encode(value, self.allow_pickle)
        blobs = self.blobs
        segments: list[bytes | bytearray | memoryview] = []
        if blobs is None or encoder.binary_size <= self.threshold:
            text = _json.encode(data)
            if blobs is None or len(text) <= self.threshold:
                return _inline(encoder, data, text)
        else:
            # Big binary payloads become segments: written as they are, no base64.
            for holder, key in encoder.binaries:
                segments.append(holder[key])
                holder[key] = len(segments) - 1
            text = _json.encode(data)

        def write(file: BinaryWriter) -> None:
            file.write(BLOB_MAGIC)
            sizes = [memoryview(s).nbytes for s in segments]
            file.write(_json.encode(_Meta(len(text), sizes)) + b"\n")
            file.write(text)
            for segment in segments:
                file.write(segment)

        key, size = blobs.store(write)
        return protocol.Value(
            format="json",
            blob=key,
            size=size,
            label=_label(data),
            executions=tuple(dict.fromkeys(encoder.executions)),
            assets=tuple(dict.fromkeys(encoder.assets)),
        )

    def load(
        self, value: protocol.Value, *, resolve_execution: Callable[[str], Any] | None = None
    ) -> Any:
        """Like ``deserialize``, fetching a blob value (through the agent's cache).

        Raises:
            ValueError: a blob value with no blob store to read it from, or a
                malformed value.
            PickleDisabledError: it holds a pickle, which this codec does not allow.
            OSError: the blob store could not be reached (after retries).
        """
        allow = self.allow_pickle
        if value.blob is None or value.data is not None:
            return deserialize(value, resolve_execution=resolve_execution, allow_pickle=allow)
        if self.blobs is None:
            raise ValueError(f"value {value.blob} is in the blob store, which is not configured")
        with self.blobs.open(value.blob) as file:
            return read_value_blob(file, resolve_execution=resolve_execution, allow_pickle=allow)


class _Segments:
    """Reads the segments of a value blob on demand, each straight into its value."""

    def __init__(self, file: IO[bytes], sizes: list[int]) -> None:
        self._file = file
        self._sizes = sizes
        self._offsets: list[int] = []
        offset = file.tell()
        for size in sizes:
            self._offsets.append(offset)
            offset += size

    def read(self, index: int, mutable: bool) -> bytes | bytearray:
        if not 0 <= index < len(self._sizes):
            raise ValueError(f"value blob has no segment {index}")
        size = self._sizes[index]
        self._file.seek(self._offsets[index])
        data: bytes | bytearray
        if mutable:
            data = bytearray(size)
            got = self._file.readinto(data)  # type: ignore[attr-defined]
        else:
            data = self._file.read(size)
            got = len(data)
        if got != size:
            raise ValueError("value blob is truncated")
        return data


def _open_value_blob(file: IO[bytes]) -> tuple[Any, _Segments]:
    if file.read(len(BLOB_MAGIC)) != BLOB_MAGIC:
        raise ValueError("not a Coflux value blob")
    try:
        meta = msgspec.json.decode(file.readline(), type=_Meta)
        text = file.read(meta.data)
        if len(text) != meta.data:
            raise ValueError("value blob is truncated")
        data = msgspec.json.decode(text)
    except msgspec.DecodeError as e:
        raise ValueError(f"malformed value blob: {e}") from None
    del text
    return data, _Segments(file, meta.segments)


def read_value_blob(
    file: IO[bytes],
    *,
    resolve_execution: Callable[[str], Any] | None = None,
    allow_pickle: bool = True,
) -> Any:
    """Decode a value blob (see the module docstring) from a seekable file.

    Raises:
        ValueError: the file is not a well-formed value blob.
        PickleDisabledError: it holds a pickle, and ``allow_pickle`` is False.
    """
    data, segments = _open_value_blob(file)
    return _Decoder(resolve_execution, segments.read, allow_pickle).decode(data)


def value_blob_as_inline(value: protocol.Value, file: IO[bytes]) -> protocol.Value:
    """The inline equivalent of a blob value (for display: the CLI, never executors).

    Raises:
        ValueError: the file is not a well-formed value blob.
    """
    data, segments = _open_value_blob(file)
    for holder, key in _segment_references(data):
        holder[key] = _b64(segments.read(holder[key], mutable=False))
    return protocol.Value(
        format="json",
        data=data,
        size=value.size,
        label=value.label,
        executions=value.executions,
        assets=value.assets,
    )


def _segment_references(data: Any) -> Iterator[tuple[Any, Any]]:
    """Where a value blob's tree refers to segments, as (holder, key)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if type(item) is list:
            stack.extend(item)
        elif type(item) is dict:
            tag = item.get("$")
            if tag is None:
                stack.extend(item.values())
            elif tag in _BINARY_TAGS:
                if type(item.get("v")) is int:
                    yield item, "v"
                buffers = item.get("b") or []
                yield from ((buffers, i) for i, b in enumerate(buffers) if type(b) is int)
            elif tag in _CONTAINER_TAGS:
                stack.append(item.get("v"))


_CONTAINER_TAGS = frozenset({"tuple", "set", "frozenset", "dict"})
_BINARY_TAGS = frozenset({"bytes", "bytearray", "pickle"})


# --- decoding -----------------------------------------------------------------


SegmentReader = Callable[[int, bool], bytes | bytearray]
"""Reads segment N of a value blob, as a bytearray when the flag is set."""


class _Decoder:
    def __init__(
        self,
        resolve_execution: Callable[[str], Any] | None,
        segment: SegmentReader | None = None,
        allow_pickle: bool = True,
    ) -> None:
        self.resolve_execution = resolve_execution
        self.segment = segment
        self.allow_pickle = allow_pickle

    def decode(self, data: Any) -> Any:
        if type(data) is list:
            return [self.decode(item) for item in data]
        if type(data) is not dict:
            return data
        tag = data.get("$")
        if tag is None:
            return {key: self.decode(item) for key, item in data.items()}
        decoder = _TAG_DECODERS.get(tag)
        if decoder is None:
            raise ValueError(f"unknown value tag {tag!r}")
        return decoder(self, data)

    def binary(self, payload: Any, mutable: bool = False) -> bytes | bytearray:
        """A binary payload: base64 text inline, or a segment number in a blob."""
        if type(payload) is int:
            if self.segment is None:
                raise ValueError("a segment reference outside a value blob")
            return self.segment(payload, mutable)
        data = _unb64(payload)
        return bytearray(data) if mutable else data

    def decode_execution(self, data: dict[str, Any]) -> Any:
        if self.resolve_execution is not None:
            return self.resolve_execution(data["v"])
        return Execution(data["v"])

    def decode_pickle(self, data: dict[str, Any]) -> Any:
        if not self.allow_pickle:
            raise PickleDisabledError(f"{_pickled(data.get('t'))} cannot be loaded: {_NO_PICKLE}")
        # Out-of-band buffers come back writable (bytearray), as NumPy expects.
        buffers = [self.binary(b, mutable=True) for b in data.get("b", ())]
        return pickle.loads(self.binary(data["v"]), buffers=buffers)


def _pickled(label: Any) -> str:
    # The label is the sender's word, not a fact: shown, bounded, never trusted.
    return f"a pickled {label[:200]}" if isinstance(label, str) and label else "a pickled value"


def _decode_datetime(data: dict[str, Any]) -> dt.datetime:
    value = dt.datetime.fromisoformat(data["v"]).replace(fold=data.get("f", 0))
    zone = data.get("z")
    return value if zone is None else value.replace(tzinfo=zoneinfo.ZoneInfo(zone))


def _import_qualified(module_name: str, qualname: str) -> Any:
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _decode_class(data: dict[str, Any]) -> Any:
    module_name, _, qualname = data["c"].partition(":")
    return _import_qualified(module_name, qualname)


def _decode_dataclass(dec: _Decoder, data: dict[str, Any]) -> Any:
    fields = {key: dec.decode(item) for key, item in data["v"].items()}
    return _decode_class(data)(**fields)


def _decode_pydantic(data: dict[str, Any]) -> Any:
    module_name, _, qualname = data["c"].partition(":")
    return _import_qualified(module_name, qualname).model_validate(data["v"])


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


_TAG_DECODERS: dict[str, Callable[[_Decoder, dict[str, Any]], Any]] = {
    "int": lambda dec, d: int(d["v"]),
    "float": lambda dec, d: float(d["v"]),
    "str": lambda dec, d: _unb64(d["v"]).decode("utf-8", "surrogatepass"),
    "dict": lambda dec, d: {dec.decode(k): dec.decode(v) for k, v in d["v"]},
    "tuple": lambda dec, d: tuple(dec.decode(i) for i in d["v"]),
    "set": lambda dec, d: {dec.decode(i) for i in d["v"]},
    "frozenset": lambda dec, d: frozenset(dec.decode(i) for i in d["v"]),
    "bytes": lambda dec, d: dec.binary(d["v"]),
    "bytearray": lambda dec, d: dec.binary(d["v"], mutable=True),
    "datetime": lambda dec, d: _decode_datetime(d),
    "date": lambda dec, d: dt.date.fromisoformat(d["v"]),
    "time": lambda dec, d: dt.time.fromisoformat(d["v"]).replace(fold=d.get("f", 0)),
    "timedelta": lambda dec, d: dt.timedelta(*d["v"]),
    "decimal": lambda dec, d: decimal.Decimal(d["v"]),
    "uuid": lambda dec, d: uuid.UUID(d["v"]),
    "pydantic": lambda dec, d: _decode_pydantic(d),
    "dataclass": _decode_dataclass,
    "enum": lambda dec, d: _decode_class(d)(dec.decode(d["v"])),
    "execution": _Decoder.decode_execution,
    "asset": lambda dec, d: Asset.from_info(d["v"], d.get("i")),
    "pickle": _Decoder.decode_pickle,
}


def deserialize(
    value: protocol.Value,
    *,
    resolve_execution: Callable[[str], Any] | None = None,
    allow_pickle: bool = True,
) -> Any:
    """Turn a ``protocol.Value`` back into the Python value it was made from.

    Args:
        value: a value produced by ``serialize`` or ``from_json``.
        resolve_execution: builds the ``Execution`` handle for an execution id;
            by default handles are unbound and find the current execution
            context when they are first waited on.
        allow_pickle: False refuses a value holding a pickle.

    Returns:
        An equal value of the same type as the one serialised.

    Raises:
        ValueError: the value is stored in the blob store (not fetched here) or
            carries an unknown tag.
        PickleDisabledError: it holds a pickle, and ``allow_pickle`` is False.
    """
    if value.blob is not None and value.data is None:
        raise ValueError(f"value {value.blob} is in the blob store and must be fetched first")
    if value.format == "pickle":
        if not allow_pickle:
            raise PickleDisabledError(f"{_pickled(value.label)} cannot be loaded: {_NO_PICKLE}")
        return pickle.loads(_unb64(value.data))
    return _Decoder(resolve_execution, allow_pickle=allow_pickle).decode(value.data)


# --- plain JSON in and out --------------------------------------------------------

_JSON_SCALARS = (type(None), bool, int, float, str)


def _check_json(obj: Any, path: str) -> None:
    if type(obj) in _JSON_SCALARS:
        return
    if type(obj) is list:
        for index, item in enumerate(obj):
            _check_json(item, f"{path}[{index}]")
    elif type(obj) is dict:
        for key, item in obj.items():
            if type(key) is not str:
                raise TypeError(f"JSON object keys must be strings (at {path}: {key!r})")
            _check_json(item, f"{path}.{key}")
    else:
        raise TypeError(f"not a JSON value (at {path}: {type(obj).__name__})")


def from_json(obj: Any) -> protocol.Value:
    """Wrap a plain JSON value (e.g. a CLI argument) as a ``protocol.Value``.

    Args:
        obj: a value as ``json.loads`` returns it.

    Returns:
        The value, with dicts that have a ``"$"`` key escaped so that they come
        back as the same plain dicts.

    Raises:
        TypeError: ``obj`` holds something JSON cannot.
    """
    _check_json(obj, "$")
    return serialize(obj)


# --- values from outside any execution ------------------------------------------


_Trail = tuple[Any, int | str] | None
"""How a node of a tree was reached: (the parent's trail, index or key); None at the root."""


# Tags whose decoding runs code that the value names: a pickle, and a pydantic
# model, a dataclass or an enum (decoding imports the module the tag names, and
# calls the class).
CODE_TAGS = frozenset({"pickle", "pydantic", "dataclass", "enum"})


def find_pickle(value: protocol.Value) -> str | None:
    """Where a value holds a pickle, without decoding it (see ``find_code``)."""
    found = find_code(value, frozenset({"pickle"}))
    return found[0] if found is not None else None


def find_code(value: protocol.Value, tags: frozenset[str] = CODE_TAGS) -> tuple[str, str] | None:
    """Where a value holds one of ``tags`` (by default, any tag whose decoding runs
    code the value names), without decoding it.

    Every list and object of the inline tree is visited, not only those the
    decoder would descend into (a tagged leaf's payload too), so that no future
    tag can make such a value reachable that this walk skipped. Iterative: the
    tree may be as deep as the protocol allows. A blob's content is not read here.

    Args:
        value: a value as received.
        tags: the tags to look for.

    Returns:
        The path of the first one found (``"$"``: the value itself, which may be a
        ``format: "pickle"`` value; ``"$.a[2]"``: inside it) and its tag, or None.
    """
    if value.format == "pickle" and "pickle" in tags:
        return "$", "pickle"
    # Each entry carries its trail (parent's trail, step) rather than its path: a
    # path string per node would cost depth x key length each, on hostile input.
    stack: list[tuple[Any, _Trail]] = [(value.data, None)]
    while stack:
        item, trail = stack.pop()
        if type(item) is list:
            stack.extend((child, (trail, i)) for i, child in reversed(list(enumerate(item))))
        elif type(item) is dict:
            tag = item.get("$")
            if type(tag) is str and tag in tags:
                return _path(trail), tag
            stack.extend((child, (trail, key)) for key, child in reversed(item.items()))
    return None


def _path(trail: _Trail) -> str:
    steps: list[str] = []
    while trail is not None:
        trail, step = trail
        steps.append(f"[{step}]" if type(step) is int else f".{str(step)[:100]}")
    return "$" + "".join(reversed(steps))


def refuse_outside_arguments(arguments: Iterable[protocol.Value]) -> None:
    """Refuse arguments from outside any execution that would make an executor run
    code the value names.

    For every value that does not come from an execution of the project (HTTP
    submissions of runs and sensors): a pickle anywhere in a value is refused, so
    is a pydantic, dataclass or enum tag (whose decoding imports the module it
    names; plain JSON is converted by the executor instead), and so is a
    value passed by blob reference, whose content the server would
    have to read to check (nothing outside an execution needs to send one: the
    CLI and Studio send arguments inline). docs/values.md, "Trust model".

    Raises:
        BadRequest: ``pickle_refused``, ``import_refused`` or ``blob_refused``, naming the argument
            (``arguments[N]``, as in the request body).
    """
    for index, value in enumerate(arguments):
        if value.blob is not None:
            raise BadRequest(
                "blob_refused",
                f"arguments[{index}] refers to the blob store: arguments from outside an"
                " execution must be inline JSON values",
            )
        found = find_code(value)
        if found is None:
            continue
        where, tag = found
        if tag == "pickle":
            what = "is a pickle" if where == "$" else f"holds a pickle at {where}"
            raise BadRequest(
                "pickle_refused",
                f"arguments[{index}] {what}: values from outside an execution are never"
                " unpickled; pass JSON",
            )
        raise BadRequest(
            "import_refused",
            f"arguments[{index}] names a {tag} class to import at {where}: values from"
            " outside an execution may not name code; pass JSON",
        )


def _display_key(key: Any) -> str:
    return key if type(key) is str else _json.encode(key).decode("utf-8")


def _display_tagged(data: dict[str, Any]) -> Any:
    tag = data["$"]
    payload: Any = data.get("v")
    if tag in ("tuple", "set", "frozenset"):
        return [_display(item) for item in payload]
    if tag == "dict":
        return {_display_key(_display(k)): _display(v) for k, v in payload}
    if tag == "int":
        return int(payload)
    if tag == "str":
        return _unb64(payload).decode("utf-8", "replace")
    if tag == "timedelta":
        return dt.timedelta(*payload).total_seconds()
    if tag == "pickle":
        return f"<pickled {data.get('t')}>"
    if tag in ("execution", "asset"):
        return f"<{tag} {payload}>"
    if tag in ("dataclass", "enum"):  # a dataclass's fields; an enum member's value
        return _display(payload)
    # float (nan/inf text), bytes (base64), datetimes (ISO), decimal, uuid, pydantic
    return payload


def _display(data: Any) -> Any:
    if type(data) is list:
        return [_display(item) for item in data]
    if type(data) is dict:
        if "$" in data:
            return _display_tagged(data)
        return {key: _display(item) for key, item in data.items()}
    return data


def to_display(value: protocol.Value) -> Any:
    """Render a value as plain JSON for people (CLI output); never unpickles.

    Args:
        value: any ``protocol.Value``.

    Returns:
        JSON data: tuples and sets as lists, datetimes as ISO strings, bytes as
        base64, pickled values as ``"<pickled module.Type>"``, handles as
        ``"<execution ID>"``; a blob reference as ``"<blob KEY>"``.
    """
    if value.blob is not None and value.data is None:
        return f"<blob {value.blob}>"
    if value.format == "pickle":
        return f"<pickled {value.label or 'value'}>"
    return _display(value.data)
