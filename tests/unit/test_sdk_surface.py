"""The smaller parts of the 0.11 SDK surface: handles, overrides, async targets, logging."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import coflux as cf
from coflux import protocol
from coflux.sdk.runtime import ExecutionLogHandler
from tests.unit.test_sdk_context import FakeChannel, run_in, server, succeeded

__all__ = ["run_in"]  # the fixture, used by name below


@cf.task(cache=60, retries=cf.Retries(limit=2, when=KeyError), memo=True)
def fetch(user_id: int) -> int:
    return user_id * 10


@cf.task
async def fetch_async(user_id: int) -> int:
    await asyncio.sleep(0)
    return user_id + 1


def test_poll_returns_the_default_until_done(run_in: Callable[[FakeChannel], Any]) -> None:
    channel = FakeChannel(server({}))
    run_in(channel)
    handle = fetch.submit(1)
    assert handle.poll() is None
    assert handle.poll(0.01, default="later") == "later"
    channel.replies[-1].message = protocol.ResultReady(
        request_id=1, execution_id="C0", outcome=succeeded(10)
    )
    assert handle.poll(default="later") == 10


def test_a_handle_names_its_target(run_in: Callable[[FakeChannel], Any]) -> None:
    run_in(FakeChannel(server({})))
    handle = fetch.submit(1)
    assert (handle.module, handle.target) == (fetch.repository, "fetch")
    assert cf.Execution("X1").target is None


def test_with_overrides_replace_one_option_and_leave_the_original(
    run_in: Callable[[FakeChannel], Any],
) -> None:
    uncached = fetch.with_cache(False).with_retries(0).with_memo(False)
    assert (uncached.options.cache, uncached.options.retries, uncached.options.memo) == (
        None,
        None,
        False,
    )
    assert fetch.options.cache == protocol.CacheOptions(max_age=60)
    assert fetch.retryable(KeyError()) and not fetch.retryable(ValueError())
    assert uncached.retryable(ValueError())  # its own (no) filter
    later = fetch.with_delay(5).with_defer(cf.Defer()).with_requires({"gpu": True})
    assert (later.options.delay, later.options.defer, later.options.requires) == (
        5.0,
        protocol.DeferOptions(),
        {"gpu": ("true",)},
    )
    assert later.with_retries(True).options.retries == protocol.RetryOptions(None, 1.0, 60.0)
    assert fetch.with_timeout(dt.timedelta(minutes=2)).options.timeout == 120.0
    assert fetch.options.timeout == 0.0
    with pytest.raises(ValueError, match="timeout must not be negative"):
        fetch.with_timeout(-1)
    channel = FakeChannel(server({}))
    run_in(channel)
    uncached.submit(3)
    (submitted,) = channel.of(protocol.Submit)
    assert submitted.options == uncached.options and submitted.target == "fetch"
    with pytest.raises(ValueError, match="unknown parameter"):
        fetch.with_memo(["nope"])


def test_an_async_target_outside_an_execution_is_the_coroutine_function() -> None:
    assert asyncio.run(fetch_async(1)) == 2  # type: ignore[arg-type]


def test_an_async_target_runs_to_completion_when_executed() -> None:
    assert fetch_async.invoke([4]) == 5


def test_generator_functions_are_refused_at_decoration_time() -> None:
    def numbers() -> Iterator[int]:
        yield 1

    async def stream() -> AsyncIterator[int]:
        yield 1

    for fn in (numbers, stream):
        with pytest.raises(TypeError, match="generator function cannot be a target"):
            cf.task(fn)


def test_log_without_a_template(run_in: Callable[[FakeChannel], Any]) -> None:
    channel = FakeChannel(server({}))
    run_in(channel)
    cf.log_info(event="login", user_id=42)
    (entry,) = [m.entry for m in channel.of(protocol.LogMessage)]
    assert (entry.level, entry.template, sorted(entry.values)) == (
        "info",
        "event={event} user_id={user_id}",
        ["event", "user_id"],
    )


def test_standard_logging_inside_an_execution_keeps_level_and_logger(
    run_in: Callable[[FakeChannel], Any],
) -> None:
    logger = logging.getLogger("shop.orders")
    logger.setLevel(logging.INFO)
    handler = ExecutionLogHandler()
    logger.addHandler(handler)
    try:
        channel = FakeChannel(server({}))
        run_in(channel)
        logger.info("order {id} placed for %s", "ann")
        logger.warning("stock low")
    finally:
        logger.removeHandler(handler)
    entries = [m.entry for m in channel.of(protocol.LogMessage)]
    assert [(e.level, e.template) for e in entries] == [
        ("info", "{message}"),
        ("warning", "{message}"),
    ]
    assert entries[0].values["logger"].data == "shop.orders"
    assert entries[0].values["message"].data == "order {id} placed for ann"
