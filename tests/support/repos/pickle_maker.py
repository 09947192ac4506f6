"""The side of the --no-pickle tests that pickles (hosted by an ordinary agent).

``Touch`` pickles as a call of ``Path.touch``: whoever unpickles it creates the
file, which is how a test sees that a value was (or was not) unpickled.
"""

from pathlib import Path
from typing import Any

import coflux as cf


class Touch:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (Path(self.path),))


@cf.stub("pickle_taker")
def take(value: object) -> str: ...


@cf.task
def make(marker: str) -> object:
    """A result only pickle can carry."""
    return Touch(marker)


@cf.workflow
def send(marker: str) -> str:
    """Pass a pickled argument to a task of the other agent."""
    return take(Touch(marker))
