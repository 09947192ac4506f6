"""Version 2 of the repository in ../v1."""

import coflux as cf


@cf.task
def compute(x: int) -> str:
    return f"v2:{x}"


@cf.task
def upstream(x: int) -> int:
    return x + 1


@cf.workflow
def pipeline(x: int) -> str:
    return compute(upstream(x))
