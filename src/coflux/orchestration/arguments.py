"""Checking the arguments of a run submitted from outside against its target.

The count (``check_count``), and each argument that is plain JSON against the
JSON Schema its agent derived from the parameter's annotation and recorded in
the manifest (``protocol.Parameter.schema``, made by ``sdk/parameters.py``).
A refusal names the parameter and says what was expected, and changes nothing.

Only what cannot be right is refused: an argument holding tagged values (a
tuple, a datetime, written by a Python client rather than typed in as JSON) is
not checked against the schema, and neither is one whose parameter has no
schema; the executor converts what it gets (``Target.invoke``) and the function
sees the rest. Patterns (``"pattern"``) are left to the executor too (a
Pydantic model validates them again): a regular expression from an agent's
manifest is not run on the server.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jsonschema
import msgspec
from jsonschema.exceptions import ValidationError, best_match

from coflux import protocol
from coflux.errors import BadRequest

__all__ = ["check_arguments"]


def _no_pattern(*_: Any) -> None:
    return None


_Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {"pattern": _no_pattern}
)
_FORMATS = jsonschema.FormatChecker()


@functools.lru_cache(maxsize=512)
def _validator(encoded: bytes) -> Any:
    """The validator of one schema (None if the schema itself is not valid)."""
    schema = msgspec.json.decode(encoded)
    try:
        _Validator.check_schema(schema)
    except jsonschema.SchemaError:
        return None
    return _Validator(schema, format_checker=_FORMATS)


def _plain(data: Any) -> bool:
    """Whether a tagged JSON tree holds no tag anywhere (it is the JSON typed in)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if type(item) is list:
            stack.extend(item)
        elif type(item) is dict:
            if "$" in item:
                return False
            stack.extend(item.values())
    return True


def _where(error: ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f" at {path.lstrip('.')}" if path else ""


def _expected(error: ValidationError) -> str:
    if error.validator == "type":
        got = msgspec.json.encode(error.instance).decode()
        return f"expected {error.validator_value}, got {got[:80]}"
    return error.message[:200]


def is_schema(schema: dict[str, Any]) -> bool:
    """Whether ``schema`` is a JSON Schema this module can check values against."""
    return _validator(msgspec.json.encode(schema)) is not None


def schema_error(schema: dict[str, Any], data: Any) -> str | None:
    """Why plain JSON ``data`` does not satisfy ``schema`` (where inside, and what
    was expected), or None if it does (or the schema is not one: see ``is_schema``).
    Used for the answers to inputs (``orchestration.inputs``)."""
    validator = _validator(msgspec.json.encode(schema))
    if validator is None:
        return None
    error = best_match(validator.iter_errors(data))
    if error is None:
        return None
    where = _where(error)
    return f"is invalid{where}: {_expected(error)}"


def check_count(definition: protocol.TargetDefinition, count: int) -> None:
    """Refuse ``count`` arguments if the target cannot take that many."""
    positional = [p for p in definition.parameters if p.kind == "positional"]
    required = sum(1 for p in positional if p.default is None)
    variadic = any(p.kind == "var_positional" for p in definition.parameters)
    if count < required or (count > len(positional) and not variadic):
        expected = (
            f"at least {required}"
            if variadic
            else str(required)
            if required == len(positional)
            else f"{required} to {len(positional)}"
        )
        raise BadRequest(
            "wrong_argument_count",
            f"{definition.name} takes {expected} argument(s), but {count} were given",
        )


def check_arguments(
    definition: protocol.TargetDefinition, arguments: Sequence[protocol.Value]
) -> None:
    """Refuse arguments that cannot be right for ``definition`` (see the module docstring).

    Raises:
        BadRequest: ``wrong_argument_count``, or ``invalid_argument`` naming the
            parameter (and where inside the argument) and what was expected.
    """
    check_count(definition, len(arguments))
    positional = [p for p in definition.parameters if p.kind == "positional"]
    for index, (parameter, value) in enumerate(zip(positional, arguments, strict=False)):
        if parameter.schema is None or value.format != "json" or value.blob is not None:
            continue
        if not _plain(value.data):
            continue
        validator = _validator(msgspec.json.encode(parameter.schema))
        if validator is None:
            continue
        error = best_match(validator.iter_errors(value.data))
        if error is not None:
            raise BadRequest(
                "invalid_argument",
                f"argument {parameter.name!r} (arguments[{index}]) of {definition.name}"
                f"{_where(error)}: {_expected(error)}",
            )
