"""Targets that fail."""

import coflux as cf


@cf.task
def fail(message: str) -> None:
    raise ValueError(message)


@cf.workflow
def calls_failing(message: str) -> None:
    fail(message)
