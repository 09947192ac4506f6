"""Tasks that take their executor process down."""

import ctypes
import os

import coflux as cf


@cf.task
def crash(code: int = 3) -> None:
    os._exit(code)


@cf.task
def segfault() -> None:
    ctypes.string_at(0)
