"""A workflow with a parameter of every annotation kind a manifest describes, and
one (a plain class) that it cannot: each parameter's JSON Schema is what Studio's
Run… form draws and what the server checks submissions against."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Literal

import pydantic

import coflux as cf


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Address(pydantic.BaseModel):
    street: str
    number: int = 1


class Customer(pydantic.BaseModel):
    name: str
    address: Address


class Opaque:
    """Nothing a schema can describe: the form falls back to a JSON field."""


@cf.workflow
def every_kind(
    count: int,
    ratio: float,
    enabled: bool,
    label: str,
    mode: Literal["fast", "slow"],
    colour: Colour,
    day: dt.date,
    moment: dt.datetime,
    alarm: dt.time,
    maybe: int | None,
    tags: list[str],
    customer: Customer,
    thing: Opaque,
) -> None:
    """Takes one parameter of each kind; does nothing with them."""
