"""A workflow and a sensor for Studio's Run… and Start… forms (tests/e2e/test_forms.py):
the workflow's parameters are a number, a yes/no, a choice, a date and a Pydantic
model, each drawn as its own kind of field; it returns what it was given, as the
types it was annotated with, so the test can read the arguments back."""

from __future__ import annotations

import datetime as dt
import time
from typing import Literal

import pydantic

import coflux as cf


class Guest(pydantic.BaseModel):
    name: str
    age: int


@cf.workflow
def book(
    nights: int,
    breakfast: bool,
    room: Literal["single", "double"],
    arrival: dt.date,
    guest: Guest,
    note: str = "none",
) -> dict[str, object]:
    """Books a room; returns the booking as it arrived."""
    assert isinstance(arrival, dt.date) and isinstance(guest, Guest)
    return {
        "nights": nights,
        "breakfast": breakfast,
        "room": room,
        "arrival": arrival.isoformat(),
        "guest": guest.model_dump(),
        "note": note,
    }


@cf.sensor
def doorbell(door: Literal["front", "back"], every: float = 0.2) -> None:
    """Listens at a door until stopped."""
    while True:
        cf.log_info("listening at the {door} door", door=door)
        time.sleep(every)
