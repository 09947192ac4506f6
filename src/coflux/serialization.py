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

This module is imported by ``import coflux``: it uses the standard library and
msgspec only.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import importlib
import math
import pickle
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

import msgspec

from coflux import protocol
from coflux.sdk.handles import Asset, Execution

__all__ = ["deserialize", "from_json", "serialize", "to_display"]

_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1
_json = msgspec.json.Encoder()


class _Encoder:
    """One serialisation pass: collects the handles found inside the value."""

    def __init__(self) -> None:
        self.executions: list[str] = []
        self.assets: list[str] = []

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
            return [self.encode(item) for item in value]
        if kind is dict:
            return self._encode_dict(value)
        simple = _SIMPLE_ENCODERS.get(kind)
        if simple is not None:
            return simple(self, value)
        return self._encode_other(value)

    def _encode_dict(self, value: dict[Any, Any]) -> Any:
        if all(type(key) is str and key != "$" and _is_utf8(key) for key in value):
            return {key: self.encode(item) for key, item in value.items()}
        return _tag("dict", [[self.encode(k), self.encode(v)] for k, v in value.items()])

    def _encode_other(self, value: Any) -> Any:
        if isinstance(value, Execution):
            self.executions.append(value.id)
            return _tag("execution", value.id)
        if isinstance(value, Asset):
            self.assets.append(value.id)
            return _tag("asset", value.id)
        kind = type(value)
        # Duck-typed so that serialising never imports pydantic.
        if hasattr(kind, "model_dump") and hasattr(kind, "model_validate"):
            data = value.model_dump(mode="json")
            return {"$": "pydantic", "c": f"{kind.__module__}:{kind.__qualname__}", "v": data}
        return _encode_pickle(value)

    def encode_datetime(self, value: dt.datetime) -> Any:
        tz = value.tzinfo
        if tz is None or type(tz) is dt.timezone:
            return _with_fold(_tag("datetime", value.isoformat()), value.fold)
        if type(tz) is zoneinfo.ZoneInfo and tz.key:
            # The ISO text (wall time + offset) is for people; the zone and the
            # fold make it exact, even for ambiguous or non-existent wall times.
            data = {"$": "datetime", "v": value.isoformat(), "z": tz.key}
            return _with_fold(data, value.fold)
        return _encode_pickle(value)

    def encode_time(self, value: dt.time) -> Any:
        if value.tzinfo is None or type(value.tzinfo) is dt.timezone:
            return _with_fold(_tag("time", value.isoformat()), value.fold)
        return _encode_pickle(value)


def _with_fold(data: dict[str, Any], fold: int) -> dict[str, Any]:
    # ISO text has no place for `fold` (which of two equal wall times this is).
    if fold:
        data["f"] = fold
    return data


def _tag(name: str, payload: Any) -> dict[str, Any]:
    return {"$": name, "v": payload}


def _b64(data: bytes) -> str:
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


def _encode_pickle(value: Any) -> dict[str, Any]:
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # pickling user objects can fail in any way
        raise TypeError(f"cannot serialise a value of type {_type_name(type(value))}: {e}") from e
    return {"$": "pickle", "t": _type_name(type(value)), "v": _b64(data)}


_SIMPLE_ENCODERS: dict[type, Callable[[_Encoder, Any], Any]] = {
    tuple: lambda enc, v: _tag("tuple", [enc.encode(i) for i in v]),
    set: lambda enc, v: _tag("set", [enc.encode(i) for i in v]),
    frozenset: lambda enc, v: _tag("frozenset", [enc.encode(i) for i in v]),
    bytes: lambda enc, v: _tag("bytes", _b64(v)),
    bytearray: lambda enc, v: _tag("bytearray", _b64(v)),
    dt.datetime: _Encoder.encode_datetime,
    dt.date: lambda enc, v: _tag("date", v.isoformat()),
    dt.time: _Encoder.encode_time,
    dt.timedelta: lambda enc, v: _tag("timedelta", [v.days, v.seconds, v.microseconds]),
    decimal.Decimal: lambda enc, v: _tag("decimal", str(v)),
    uuid.UUID: lambda enc, v: _tag("uuid", str(v)),
}


def serialize(value: Any) -> protocol.Value:
    """Turn a Python value into a ``protocol.Value``.

    Args:
        value: any Python value; types the tagged JSON tree cannot express are
            pickled.

    Returns:
        A ``Value`` with format ``"json"``, listing the execution and asset
        handles found inside it. ``label`` names the type of a pickled value.

    Raises:
        TypeError: the value (or part of it) can be neither encoded nor pickled.
    """
    encoder = _Encoder()
    try:
        data = encoder.encode(value)
    except RecursionError:
        # A cyclic or very deep structure: pickle copes with both.
        encoder = _Encoder()
        data = _encode_pickle(value)
    label = data.get("t") if isinstance(data, dict) and data.get("$") == "pickle" else None
    return protocol.Value(
        format="json",
        data=data,
        size=len(_json.encode(data)),
        label=label,
        executions=tuple(dict.fromkeys(encoder.executions)),
        assets=tuple(dict.fromkeys(encoder.assets)),
    )


# --- decoding -----------------------------------------------------------------


class _Decoder:
    def __init__(self, resolve_execution: Callable[[str], Any] | None) -> None:
        self.resolve_execution = resolve_execution

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

    def decode_execution(self, data: dict[str, Any]) -> Any:
        if self.resolve_execution is not None:
            return self.resolve_execution(data["v"])
        return Execution(data["v"])


def _decode_datetime(data: dict[str, Any]) -> dt.datetime:
    value = dt.datetime.fromisoformat(data["v"]).replace(fold=data.get("f", 0))
    zone = data.get("z")
    return value if zone is None else value.replace(tzinfo=zoneinfo.ZoneInfo(zone))


def _import_qualified(module_name: str, qualname: str) -> Any:
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


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
    "bytes": lambda dec, d: _unb64(d["v"]),
    "bytearray": lambda dec, d: bytearray(_unb64(d["v"])),
    "datetime": lambda dec, d: _decode_datetime(d),
    "date": lambda dec, d: dt.date.fromisoformat(d["v"]),
    "time": lambda dec, d: dt.time.fromisoformat(d["v"]).replace(fold=d.get("f", 0)),
    "timedelta": lambda dec, d: dt.timedelta(*d["v"]),
    "decimal": lambda dec, d: decimal.Decimal(d["v"]),
    "uuid": lambda dec, d: uuid.UUID(d["v"]),
    "pydantic": lambda dec, d: _decode_pydantic(d),
    "execution": _Decoder.decode_execution,
    "asset": lambda dec, d: Asset(d["v"]),
    "pickle": lambda dec, d: pickle.loads(_unb64(d["v"])),
}


def deserialize(
    value: protocol.Value, *, resolve_execution: Callable[[str], Any] | None = None
) -> Any:
    """Turn a ``protocol.Value`` back into the Python value it was made from.

    Args:
        value: a value produced by ``serialize`` or ``from_json``.
        resolve_execution: builds the ``Execution`` handle for an execution id;
            by default handles are unbound and find the current execution
            context when they are first waited on.

    Returns:
        An equal value of the same type as the one serialised.

    Raises:
        ValueError: the value is stored in the blob store (not fetched here) or
            carries an unknown tag.
    """
    if value.blob is not None and value.data is None:
        raise ValueError(f"value {value.blob} is in the blob store and must be fetched first")
    if value.format == "pickle":
        return pickle.loads(_unb64(value.data))
    return _Decoder(resolve_execution).decode(value.data)


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
