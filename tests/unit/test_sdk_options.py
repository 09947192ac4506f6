"""The 0.11 option objects (``cf.Cache``, ``cf.Retries``, ``cf.Defer``) beside the 0.4 forms."""

from __future__ import annotations

import datetime as dt

import pytest

import coflux as cf
from coflux import protocol
from coflux.orchestration.retries import retry_delay
from coflux.sdk.policies import retryable


def options(**given: object) -> protocol.TargetOptions:
    @cf.task(**given)  # type: ignore[call-overload]
    def fetch(product_id: int, url: str) -> None: ...

    return fetch.options  # type: ignore[no-any-return]


def test_cache_object_and_keywords_resolve_alike() -> None:
    old = options(cache=600, cache_params=["product_id"], cache_namespace="ns", cache_version=2)
    new = options(cache=cf.Cache(max_age=600, params=["product_id"], namespace="ns", version=2))
    assert old == new
    assert new.cache == protocol.CacheOptions(max_age=600, params=(0,), namespace="ns", version="2")
    assert options(cache=cf.Cache()).cache == protocol.CacheOptions()
    assert options(cache=cf.Cache(dt.timedelta(minutes=1))).cache == protocol.CacheOptions(60)


def test_retries_object_and_tuple_resolve_alike() -> None:
    assert options(retries=(5, 300, 600)) == options(
        retries=cf.Retries(limit=5, backoff=(300, dt.timedelta(minutes=10)))
    )
    assert options(retries=cf.Retries(limit=0)).retries is None
    assert options(retries=False).retries is None


def test_retries_true_is_unlimited_with_the_default_backoff() -> None:
    assert options(retries=True).retries == protocol.RetryOptions(None, 1.0, 60.0)
    assert options(retries=cf.Retries(backoff=(10, 300))).retries == protocol.RetryOptions(
        None, 10.0, 300.0
    )


def test_defer_object_and_keywords_resolve_alike() -> None:
    assert options(defer=True, defer_params="product_id") == options(
        defer=cf.Defer(params=["product_id"])
    )
    assert options(defer=cf.Defer()).defer == protocol.DeferOptions()


@pytest.mark.parametrize(
    ("given", "error", "match"),
    [
        ({"cache": cf.Cache(params=["nope"])}, ValueError, "unknown parameter 'nope'"),
        ({"cache": cf.Cache(), "cache_params": "url"}, ValueError, "carries its own"),
        ({"retries": cf.Retries(limit=-1)}, ValueError, "Retries limit"),
        ({"retries": cf.Retries(backoff=(9, 1))}, ValueError, "above max backoff"),
        ({"retries": cf.Retries(when="ConnectionError")}, TypeError, "exception class"),  # type: ignore[arg-type]
        ({"defer": cf.Defer(), "defer_params": "url"}, ValueError, "carries its own"),
    ],
)
def test_bad_option_objects_fail_at_decoration_time(
    given: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        options(**given)


def test_retry_filters() -> None:
    assert retryable(None, KeyError())
    assert retryable(ConnectionError, ConnectionRefusedError())
    assert not retryable(ConnectionError, KeyError())
    assert retryable((KeyError, TimeoutError), TimeoutError())
    assert retryable(
        lambda e: getattr(e, "status", 0) >= 500, type("E", (Exception,), {"status": 503})()
    )
    assert not retryable(lambda e: 1 / 0 > 0, KeyError())  # a broken filter: no retry


def test_a_targets_filter_stays_on_the_target_and_off_the_wire() -> None:
    @cf.task(retries=cf.Retries(limit=3, when=ConnectionError))
    def call_api() -> None: ...

    assert call_api.retryable(ConnectionResetError())
    assert not call_api.retryable(ValueError())
    assert call_api.options.retries == protocol.RetryOptions(3, 1.0, 60.0)


def failed(retryable: bool) -> protocol.Failed:
    return protocol.Failed(protocol.ErrorInfo("builtins.KeyError", "'k'", retryable=retryable))


def test_a_failure_the_filter_refused_is_final_whatever_the_policy() -> None:
    limited = protocol.RetryOptions(3, 1.0, 1.0)
    assert retry_delay(limited, 1, failed(True)) == 1.0
    assert retry_delay(limited, 1, failed(False)) is None
    assert retry_delay(protocol.RetryOptions(None), 1, failed(False)) is None
    assert retry_delay(limited, 1, protocol.Abandoned()) == 1.0


def test_unlimited_retries_double_from_min_to_max() -> None:
    policy = protocol.RetryOptions(None, 1.0, 60.0)
    delays = [retry_delay(policy, attempt) for attempt in range(1, 10)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert retry_delay(policy, 100_000) == 60.0


def test_an_old_error_without_the_field_decodes_as_retryable() -> None:
    info = protocol.ErrorInfo("builtins.KeyError", "'k'")
    encoded = protocol.encode_msgpack(protocol.ExecutorFailed(error=info))
    assert b"retryable" not in encoded
    assert info.retryable
