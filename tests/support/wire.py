"""Hypothesis strategies for wire messages, derived from ``coflux.protocol``'s types.

``wire(T)`` draws the JSON form (dicts, lists, scalars) of a value of type ``T``
as a peer would send it, read from ``msgspec.inspect``: every bound and tag the
decoder checks is the one the strategy honours, so a new field or a changed bound
is covered without editing this module. ``hostile=True`` lets any node be
anything JSON instead (a huge or negative number, a string where a record
belongs, a deep array), which is what the decoder must refuse by name.
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi
from hypothesis import strategies as st

# Kept small: the point is the shapes, not the sizes.
_TEXT = st.text(max_size=12)
# Integers as far as msgpack reaches (JSON's larger ones are among the hostile scalars).
_INTEGERS = st.integers(min_value=-(2**63), max_value=2**64 - 1)
_SCALARS = st.none() | st.booleans() | _INTEGERS | st.floats(allow_nan=False) | _TEXT


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (finite numbers, 64-bit integers, small containers)."""
    return st.recursive(
        _SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
        max_leaves=max_leaves,
    )


def hostile_scalars() -> st.SearchStrategy[Any]:
    """The JSON scalars a careless or hostile peer sends where a field is expected."""
    return (
        st.sampled_from([2**63, 2**64, -(2**63) - 1, -1, 0, 10**30, 1e308, -1e308, ""])
        | _SCALARS
        | st.text(min_size=2000, max_size=2000)
    )


def wire(kind: Any, *, hostile: bool = False) -> st.SearchStrategy[Any]:
    """The JSON form of a value of type ``kind`` (a protocol record or union)."""
    return _strategy(mi.type_info(kind), hostile)


def _strategy(info: mi.Type, hostile: bool) -> st.SearchStrategy[Any]:
    valid = _valid(info, hostile)
    if not hostile:
        return valid
    return st.one_of(valid, valid, valid, hostile_scalars(), json_values(4))


def _valid(info: mi.Type, hostile: bool) -> st.SearchStrategy[Any]:
    match info:
        case mi.StructType():
            return _struct(info, hostile)
        case mi.UnionType(types=types):
            return st.one_of([_strategy(t, hostile) for t in types])
        case mi.IntType():
            low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else None)
            high = (
                info.le if info.le is not None else (info.lt - 1 if info.lt is not None else None)
            )
            return st.integers(min_value=low, max_value=high)
        case mi.FloatType():
            return st.floats(
                min_value=info.gt if info.gt is not None else info.ge,
                max_value=info.lt if info.lt is not None else info.le,
                exclude_min=info.gt is not None,
                exclude_max=info.lt is not None,
                allow_nan=False,
                allow_infinity=False,
            )
        case mi.StrType(pattern=str() as pattern):
            return st.from_regex(pattern, fullmatch=True)
        case mi.StrType(min_length=least, max_length=limit):
            # No NUL in a typed string: names refuse it (``protocol.check_text``).
            no_nul = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
            return st.text(no_nul, min_size=least or 0, max_size=min(limit or 40, 40))
        case mi.BoolType():
            return st.booleans()
        case mi.NoneType():
            return st.none()
        case mi.LiteralType(values=values):
            return st.sampled_from(values)
        case mi.VarTupleType(item_type=item) | mi.ListType(item_type=item):
            return st.lists(_strategy(item, hostile), max_size=3)
        case mi.TupleType(item_types=items):
            return st.tuples(*(_strategy(item, hostile) for item in items)).map(list)
        case mi.DictType(key_type=key, value_type=value):
            return st.dictionaries(_valid(key, False), _strategy(value, hostile), max_size=3)
        case mi.AnyType():
            return json_values()
        case mi.Metadata(type=inner):
            return _valid(inner, hostile)
    raise TypeError(f"no strategy for {info!r}")


def _struct(info: mi.StructType, hostile: bool) -> st.SearchStrategy[dict[str, Any]]:
    required = {f.encode_name: _strategy(f.type, hostile) for f in info.fields if f.required}
    optional = {f.encode_name: _strategy(f.type, hostile) for f in info.fields if not f.required}
    if info.tag_field is not None:
        required[info.tag_field] = st.just(info.tag)
    return st.fixed_dictionaries(required, optional=optional)
