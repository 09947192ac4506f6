"""Workflows whose parameters are annotated: arguments typed in as JSON are checked
at submission and arrive as the dataclasses, models and enums declared; results of
those types are recorded as structured values."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

import pydantic

import coflux as cf


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int = 0


class Order(pydantic.BaseModel):
    id: int
    items: list[str]


@dataclasses.dataclass
class Receipt:
    order: int
    size: Size
    where: Point
    when: dt.date
    count: int


@cf.task
def describe(order: Order, size: Size, where: Point, when: dt.date) -> Receipt:
    assert isinstance(order, Order) and isinstance(size, Size)
    assert isinstance(where, Point) and isinstance(when, dt.date)
    return Receipt(order.id, size, where, when, len(order.items))


@cf.workflow
def place(order: Order, size: Size, where: Point, when: dt.date, copies: int = 1) -> Receipt:
    """Each argument arrives as what it is annotated as, also in the task it calls."""
    receipt = describe(order, size, where, when)
    assert isinstance(receipt, Receipt) and receipt.size is size
    return receipt
