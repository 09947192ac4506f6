"""Targets with every kind of option, for manifest tests."""

from __future__ import annotations

import datetime as dt

from hello import greet  # re-exported: belongs to `hello`, not here

import coflux as cf

__all__ = ["greet"]


@cf.task(
    name="fetch_user",
    cache=dt.timedelta(minutes=5),
    cache_params="user_id",
    retries=(3, 1, 10),
    requires={"gpu": True, "region": ["eu", "us"]},
)
def fetch(user_id: int, verbose: bool = False, *, limit: int | None = None) -> dict[str, int]:
    """Fetch a user.

    More detail here.
    """
    return {"user_id": user_id}


@cf.task(memo=True, wait=["first"], defer=True, delay=2.5)
def combine(first: int, second: int = 0) -> int:
    return first + second


@cf.workflow(retries=2)
def main(*names: str) -> list[str]:
    return [greet(name) for name in names]


@cf.stub("other.repo", name="remote_task")
def remote(x: int) -> int: ...


@cf.sensor(requires={"region": "eu"})
def watch_bucket(cursor: str | None = None) -> None:
    """Watch a bucket."""
