"""What a target's parameter annotations say about its arguments.

Two uses, one reading of the annotations:

* ``parameter_schema``: a JSON Schema (2020-12) of the JSON that can stand for an
  argument, recorded in the manifest (``protocol.Parameter.schema``), so that the
  server can refuse a run submitted from outside with a wrong argument before
  anything is recorded (``orchestration/arguments.py``), naming the parameter.
* ``convert``: the executor turns plain JSON arguments into what the annotation
  asks for before the function is called (a dict into a dataclass or a Pydantic
  model, a value into an enum member, ISO text into a datetime, a list into a
  tuple or a set), as Prefect and Hatchet do. A value that already is of the
  annotated type (a call from another execution) is left as it is.

An annotation this module does not understand (a class of the user's, a type
variable, ``Any``, a forward reference that cannot be resolved) has no schema and
is not converted: the argument passes as it came. That keeps the check a help,
never a wall: it refuses only what cannot be right.

Standard library only (this is imported with the SDK); Pydantic is recognised by
duck typing, never imported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import inspect
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["convert", "parameter_hints", "parameter_schema"]

JSON_SCALARS = (str, int, float, bool, type(None))
_MAX_DEPTH = 20  # of nested annotations (a self-referencing dataclass stops here)

_SCALAR_SCHEMAS: dict[Any, dict[str, Any]] = {
    type(None): {"type": "null"},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"},
    dt.time: {"type": "string", "format": "time"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    decimal.Decimal: {"type": ["string", "number"]},
}
_ARRAYS = (list, tuple, set, frozenset, Sequence)
_MAPPINGS = (dict, Mapping)


def parameter_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The resolved annotations of ``fn``'s parameters (none if they cannot be
    resolved, e.g. a forward reference to a name that does not exist)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # user code: any error means "unknown"
        return {}
    hints.pop("return", None)
    return hints


def _is_model(annotation: Any) -> bool:
    return (
        isinstance(annotation, type)
        and hasattr(annotation, "model_json_schema")
        and hasattr(annotation, "model_validate")
    )


def _is_dataclass(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def _is_enum(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, enum.Enum)


def _union_members(annotation: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(annotation)
    return None


class _Schemas:
    """Builds one parameter's schema; the ``$defs`` of Pydantic models nested in it
    are gathered at its root, where their ``#/$defs/...`` references point."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def of(self, annotation: Any, depth: int = 0) -> dict[str, Any] | None:
        if depth > _MAX_DEPTH or annotation is Any or annotation is inspect.Parameter.empty:
            return None
        if annotation is None:
            annotation = type(None)
        scalar = _SCALAR_SCHEMAS.get(annotation)
        if scalar is not None:
            return dict(scalar)
        if _is_enum(annotation):
            choices = [member.value for member in annotation]
            if not all(type(v) in JSON_SCALARS for v in choices):
                return None
            return {"enum": choices, "title": annotation.__name__}
        if _is_model(annotation):
            return self._model(annotation)
        if _is_dataclass(annotation):
            return self._dataclass(annotation, depth)
        members = _union_members(annotation)
        if members is not None:
            schemas = [self.of(member, depth + 1) for member in members]
            if any(s is None for s in schemas):
                return None
            return {"anyOf": schemas}
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Literal:
            return {"enum": list(args)} if all(type(a) in JSON_SCALARS for a in args) else None
        if annotation in _ARRAYS or origin in _ARRAYS:
            return self._array(origin or annotation, args, depth)
        if annotation in _MAPPINGS or origin in _MAPPINGS:
            if args and args[0] is not str:
                return None  # keys that JSON objects cannot have
            schema: dict[str, Any] = {"type": "object"}
            each = self.of(args[1], depth + 1) if len(args) == 2 else None
            if each is not None:
                schema["additionalProperties"] = each
            return schema
        return None

    def _array(self, kind: Any, args: tuple[Any, ...], depth: int) -> dict[str, Any] | None:
        schema: dict[str, Any] = {"type": "array"}
        if kind is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            items = [self.of(a, depth + 1) or {} for a in args]
            return {**schema, "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
        if args:
            item = self.of(args[0], depth + 1)
            if item is not None:
                schema["items"] = item
        return schema

    def _dataclass(self, cls: type, depth: int) -> dict[str, Any] | None:
        hints = parameter_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in dataclasses.fields(cls):
            if not field.init:
                continue
            properties[field.name] = self.of(hints.get(field.name, Any), depth + 1) or {}
            no_default = dataclasses.MISSING
            if field.default is no_default and field.default_factory is no_default:
                required.append(field.name)
        return {
            "type": "object",
            "title": cls.__name__,
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    def _model(self, cls: Any) -> dict[str, Any] | None:
        try:
            schema = dict(cls.model_json_schema())
        except Exception:  # a model Pydantic cannot describe
            return None
        for name, definition in schema.pop("$defs", {}).items():
            if self.defs.setdefault(name, definition) != definition:
                return None  # two different models of one name: references would mix
        return schema


def parameter_schema(annotation: Any) -> dict[str, Any] | None:
    """The JSON Schema of the JSON that can stand for an argument annotated
    ``annotation`` (resolved, not text), or None if there is nothing to check."""
    builder = _Schemas()
    schema = builder.of(annotation)
    if schema is not None and builder.defs:
        schema["$defs"] = builder.defs
    return schema


_AS_IS = frozenset({int, float, str, bool})  # JSON's own types: nothing to convert


def convert(value: Any, annotation: Any, depth: int = 0) -> Any:
    """``value`` as ``annotation`` asks, if it is plain JSON standing for it (see the
    module docstring); anything else unchanged.

    Raises:
        TypeError, ValueError: the value stands for the annotated type but is not
            a valid one (e.g. a dict missing a dataclass's field).
    """
    if depth > _MAX_DEPTH or annotation is Any:
        return value
    if type(value) is annotation and annotation in _AS_IS:
        return value  # the usual case, spared the checks below
    if value is None:
        return None
    if _is_model(annotation):
        return annotation.model_validate(value) if isinstance(value, dict) else value
    if _is_dataclass(annotation):
        if not isinstance(value, dict):
            return value
        hints = parameter_hints(annotation)
        fields = {f.name for f in dataclasses.fields(annotation) if f.init}
        unknown = sorted(set(value) - fields)
        if unknown:
            raise TypeError(f"{annotation.__name__} has no field {unknown[0]!r}")
        converted = {k: convert(v, hints.get(k, Any), depth + 1) for k, v in value.items()}
        return annotation(**converted)
    if _is_enum(annotation):
        return value if isinstance(value, annotation) else annotation(value)
    if isinstance(value, str):
        if annotation is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if annotation is dt.date:
            return dt.date.fromisoformat(value)
        if annotation is dt.time:
            return dt.time.fromisoformat(value)
        if annotation is uuid.UUID:
            return uuid.UUID(value)
    if annotation is decimal.Decimal and isinstance(value, str | int | float):
        return decimal.Decimal(str(value))
    members = _union_members(annotation)
    if members is not None:
        present = [m for m in members if m is not type(None)]
        return convert(value, present[0], depth + 1) if len(present) == 1 else value
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    kind = origin or annotation
    if isinstance(value, list) and kind in _ARRAYS:
        if kind is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            items = [convert(v, a, depth + 1) for v, a in zip(value, args, strict=False)]
        else:
            items = [convert(v, args[0] if args else Any, depth + 1) for v in value]
        if kind in (tuple, set, frozenset):
            return kind(items)
        return items
    if isinstance(value, dict) and kind in _MAPPINGS and len(args) == 2:
        return {k: convert(v, args[1], depth + 1) for k, v in value.items()}
    return value
