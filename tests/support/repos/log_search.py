"""Log lines to search: a few at every level in one step, a long run of noise with
one needle at its end in another (longer than one search request reads)."""

from __future__ import annotations

import sys

import coflux as cf


@cf.task
def levels(tag: str) -> None:
    cf.log_debug("debug detail of {tag}", tag=tag)
    cf.log_info("Haystack {tag}", tag=tag)
    print(f"printed by {tag}")
    print(f"complained by {tag}", file=sys.stderr)
    cf.log_warning("careful with {tag}", tag=tag)
    cf.log_error("boom in {tag}", tag=tag)


@cf.task
def noisy(count: int) -> None:
    for index in range(count):
        print(f"noise {index}")
    cf.log_warning("needle after {count} lines", count=count)


@cf.workflow
def search_me(tag: str, count: int) -> None:
    levels(tag)
    noisy(count)
