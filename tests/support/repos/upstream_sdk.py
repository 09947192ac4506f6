"""Samples written from the upstream Coflux 0.11 docs' API (retries, caching, deferring,
memoizing, logging, the Python reference): run unchanged by tests/integration."""

from __future__ import annotations

import logging

import coflux as cf

attempts_file = "attempts.txt"
logger = logging.getLogger("upstream.orders")


class ServerError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"status {status_code}")
        self.status_code = status_code


@cf.task(retries=cf.Retries(limit=3, backoff=(0, 0), when=ConnectionError))
def call_api(fail_with: str) -> str:
    if fail_with == "connection":
        raise ConnectionError("flaky network")
    if fail_with == "key":
        raise KeyError("missing")
    return "ok"


@cf.task(
    retries=cf.Retries(
        limit=5,
        backoff=(0, 0),
        when=lambda e: getattr(e, "status_code", 0) >= 500,
    ),
)
def call_status(status: int) -> int:
    raise ServerError(status)


@cf.task(cache=cf.Cache(params=["product_id"]))
def fetch_product(product_id: int, url: str) -> str:
    return f"{product_id}@{url}"


@cf.task(cache=cf.Cache(max_age=600, params=["product_id"], version="v2"))
def fetch_versioned(product_id: int, url: str) -> str:
    return f"{product_id}@{url}"


@cf.task(delay=0, defer=cf.Defer(params=["user_id"]))
def send_notification(user_id: int, update: str) -> str:
    return update


@cf.task(memo=True)
def fetch_user(user_id: int) -> dict[str, int]:
    return {"id": user_id}


@cf.task()
def send_email(user_id: int) -> int:
    return fetch_user(user_id)["id"]


@cf.workflow()
def products() -> list[str]:
    first = fetch_product(1, "a")
    second = fetch_product(1, "b")  # same product id: a cache hit
    return [first, second, fetch_versioned(2, "c")]


@cf.workflow()
def users() -> list[int]:
    return [send_email(7), send_email(7), fetch_user.with_memo(False)(7)["id"]]


@cf.task()
def look_up(key: str) -> str:
    return key.upper()


@cf.task(memo=False)
def stamp(key: str) -> str:
    return f"{key}-stamped"


@cf.task()
def report(key: str) -> str:
    return look_up(key)  # a task's calls are memoised too, in a memoising run


@cf.workflow(memo=True)
def analyse() -> list[str]:
    # look_up("a") runs once for the three calls; stamp opts out and runs twice.
    return [look_up("a"), look_up("a"), report("a"), stamp("a"), stamp("a")]


@cf.workflow()
def api_failures() -> list[str]:
    outcomes = []
    for kind in ("connection", "key"):
        try:
            outcomes.append(call_api(kind))
        except cf.ExecutionError as e:
            outcomes.append(f"{type(e).__name__}:{e}:{isinstance(e, KeyError)}")
    try:
        call_status(404)
    except ServerError as e:
        outcomes.append(f"ServerError:{e}")
    return outcomes


@cf.workflow()
def unhandled_key() -> str:
    return call_api("key")


@cf.workflow()
def logs() -> None:
    cf.log_info("{count} bottles of {drink} on the wall", count=99, drink="beer", sunny=True)
    cf.log_info(event="login", user_id=42)
    logger.info("order %s placed", 12)
    logger.warning("stock low")


@cf.workflow()
def handles() -> list[object]:
    execution = fetch_user.submit(3)
    value = execution.result()
    return [execution.module, execution.target, execution.poll(default="none"), value]


@cf.task()
async def add_async(a: int, b: int) -> int:
    return a + b


@cf.workflow()
async def async_flow(a: int) -> int:
    return add_async(a, 1) * 2  # type: ignore[operator]
