"""The side of the --no-pickle tests that must not unpickle (hosted by the agent under test)."""

import coflux as cf


class Opaque:
    """Nothing but pickle can carry it."""


@cf.stub("pickle_maker")
def make(marker: str) -> object: ...


@cf.task
def take(value: object) -> str:
    return type(value).__name__


@cf.workflow
def fetch(marker: str) -> str:
    """Receive a pickled result from a task of the other agent."""
    return type(make(marker)).__name__


@cf.workflow
def opaque() -> object:
    """Return a result only pickle can carry."""
    return Opaque()


@cf.workflow
def plain(n: int) -> list[int]:
    """A result JSON carries: unaffected by --no-pickle."""
    return list(range(n))
