"""User code as mypy --strict sees it: decorated functions, option objects, handles."""

from __future__ import annotations

import datetime as dt

import coflux as cf


@cf.task(retries=cf.Retries(limit=3, backoff=(1, 30), when=ConnectionError))
def fetch(user_id: int, url: str = "") -> dict[str, int]:
    return {"id": user_id}


@cf.task(cache=cf.Cache(max_age=dt.timedelta(minutes=10), params=["user_id"]))
def score(user_id: int) -> float:
    return 1.0


@cf.task(defer=cf.Defer(params=["user_id"]), retries=True)
def notify(user_id: int, update: str) -> None:
    cf.log_info(event="notify", user_id=user_id)


@cf.task(timeout=dt.timedelta(seconds=30), recurrent=True, delay=60)
def poll_updates() -> int | None:
    return None


@cf.workflow(memo=True, timeout=300)
def race(user_id: int) -> float:
    with cf.group("scores"):
        handles = [score.submit(i) for i in range(user_id)]
    winner, remaining = cf.select(handles, cancel_remaining=True)
    cf.cancel(remaining)
    first: float = winner.result()
    try:
        slow: float = score.with_timeout(1).with_memo(False)(user_id)
    except cf.ExecutionTimeout:
        slow = 0.0
    return first + slow


@cf.workflow()
def flow(user_id: int) -> float:
    user: dict[str, int] = fetch(user_id)
    handle: cf.Execution[float] = score.submit(user["id"])
    maybe: float | None = handle.poll()
    either: float | str = handle.poll(1.0, default="pending")
    quick = score.with_cache(False).with_retries(0)
    total: float = quick(user_id) + handle.result()
    notify.with_delay(5).submit(user_id, "done")
    name: str | None = handle.target
    try:
        fetch(user_id)
    except cf.ExecutionError as e:
        cf.log_error("{error}", error=str(e))
    except cf.ExecutionTerminated:
        pass
    return total + (maybe or 0.0) + (0.0 if isinstance(either, str) else either) + len(name or "")
