"""Version 1 of a repository (version 2 lives in ../v2 under the same name)."""

import coflux as cf


@cf.task
def compute(x: int) -> str:
    return f"v1:{x}"


@cf.task
def upstream(x: int) -> int:
    return x + 1


@cf.workflow
def pipeline(x: int) -> str:
    return compute(upstream(x))
