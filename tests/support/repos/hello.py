"""A workflow calling a task."""

import coflux as cf


@cf.task
def greet(name: str, punctuation: str = "!") -> str:
    """Greet someone."""
    return f"Hello, {name}{punctuation}"


@cf.workflow
def hello(name: str = "world") -> str:
    """Say hello to someone."""
    return greet(name)


@cf.workflow
def hello_twice(first: str, second: str) -> list[str]:
    """Greet two people concurrently."""
    executions = [greet.submit(first), greet.submit(second, punctuation="?")]
    return [execution.result() for execution in executions]
