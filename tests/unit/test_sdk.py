"""Decorators: option resolution and validation, plain calls, argument binding."""

from __future__ import annotations

import datetime as dt
import logging
import pickle
from typing import Any

import pytest

import coflux as cf
from coflux import protocol


@cf.task
def add(a: int, b: int = 10, *, scale: int = 1) -> int:
    """Add two numbers."""
    return (a + b) * scale


@cf.task()
def explode(message: str) -> None:
    raise ValueError(message)


@cf.workflow(name="total")
def total(*numbers: int, start: int = 0) -> int:
    return start + sum(add(n, 0) for n in numbers)


def test_decorators_make_targets_bare_or_with_options() -> None:
    assert isinstance(add, cf.Target)
    assert (add.name, add.type, add.__name__, add.__doc__) == (
        "add",
        "task",
        "add",
        "Add two numbers.",
    )
    assert (explode.name, explode.type) == ("explode", "task")
    assert (total.name, total.type) == ("total", "workflow")
    assert add.options == protocol.TargetOptions()


def test_outside_an_execution_targets_run_as_plain_functions() -> None:
    assert add(1) == 11
    assert add(1, 2, scale=3) == 9
    assert total(1, 2, start=5) == 8
    with pytest.raises(ValueError, match="boom"):
        explode("boom")


def test_submit_outside_an_execution_returns_a_resolved_handle() -> None:
    handle = add.submit(1, b=2)
    assert isinstance(handle, cf.Execution)
    assert handle.result() == 3
    assert handle.poll(0) == 3
    handle.cancel()  # nothing to cancel
    failed = explode.submit("later")
    with pytest.raises(ValueError, match="later"):
        failed.result()


@pytest.mark.parametrize(
    ("args", "kwargs", "wire"),
    [
        ((1,), {}, [1, 10, 1]),
        ((1, 2), {}, [1, 2, 1]),
        ((), {"a": 1, "scale": 3}, [1, 10, 3]),
        ((1,), {"b": 5, "scale": 2}, [1, 5, 2]),
    ],
)
def test_arguments_are_bound_positionally_with_defaults(
    args: tuple[Any, ...], kwargs: dict[str, Any], wire: list[Any]
) -> None:
    assert add.bind(args, kwargs) == wire
    assert add.invoke(wire) == add.fn(*args, **kwargs)


def test_var_positional_arguments_are_bound_and_invoked() -> None:
    assert total.bind((1, 2, 3), {"start": 4}) == [1, 2, 3, 4]
    assert total.invoke([1, 2, 3, 4]) == 10
    assert total.bind((), {}) == [0]


def test_binding_errors_name_the_target() -> None:
    with pytest.raises(TypeError, match=r"add\(\): .*"):
        add.bind((), {})
    with pytest.raises(TypeError, match="add"):
        add.bind((1,), {"nope": 2})


def test_targets_pickle_by_reference() -> None:
    assert pickle.loads(pickle.dumps(add)) is add


def _options(**options: Any) -> protocol.TargetOptions:
    def fn(a: int, b: int, c: int = 0) -> None: ...

    return cf.task(**options)(fn).options


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"wait": True}, protocol.TargetOptions(wait=(0, 1, 2))),
        ({"wait": "c, a"}, protocol.TargetOptions(wait=(0, 2))),
        ({"wait": ["b"]}, protocol.TargetOptions(wait=(1,))),
        ({"cache": True}, protocol.TargetOptions(cache=protocol.CacheOptions())),
        ({"cache": 60}, protocol.TargetOptions(cache=protocol.CacheOptions(max_age=60.0))),
        (
            {
                "cache": dt.timedelta(hours=1),
                "cache_params": "b",
                "cache_namespace": "ns",
                "cache_version": 2,
            },
            protocol.TargetOptions(
                cache=protocol.CacheOptions(
                    max_age=3600.0, params=(1,), namespace="ns", version="2"
                )
            ),
        ),
        ({"retries": 3}, protocol.TargetOptions(retries=protocol.RetryOptions(limit=3))),
        (
            {"retries": (2, 5)},
            protocol.TargetOptions(
                retries=protocol.RetryOptions(limit=2, delay_min=5, delay_max=5)
            ),
        ),
        (
            {"retries": (2, 1, dt.timedelta(seconds=30))},
            protocol.TargetOptions(
                retries=protocol.RetryOptions(limit=2, delay_min=1, delay_max=30)
            ),
        ),
        ({"retries": 0}, protocol.TargetOptions()),
        ({"defer": True}, protocol.TargetOptions(defer=protocol.DeferOptions())),
        (
            {"defer": True, "defer_params": ["a"]},
            protocol.TargetOptions(defer=protocol.DeferOptions(params=(0,))),
        ),
        ({"delay": dt.timedelta(minutes=1)}, protocol.TargetOptions(delay=60.0)),
        ({"memo": True}, protocol.TargetOptions(memo=(0, 1, 2))),
        ({"memo": "a"}, protocol.TargetOptions(memo=(0,))),
        (
            {"requires": {"gpu": "A100", "fast": True, "region": ["eu", "us"]}},
            protocol.TargetOptions(
                requires={"gpu": ("A100",), "fast": ("true",), "region": ("eu", "us")}
            ),
        ),
    ],
)
def test_options_resolve_to_wire_options(
    options: dict[str, Any], expected: protocol.TargetOptions
) -> None:
    assert _options(**options) == expected


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"wait": ["nope"]}, ValueError, "unknown parameter 'nope'"),
        ({"cache_params": "a"}, ValueError, "cache_params given without cache"),
        ({"cache": True, "cache_params": ["z"]}, ValueError, "unknown parameter 'z'"),
        ({"cache": -1}, ValueError, "must not be negative"),
        ({"cache": 0}, ValueError, "must be positive"),
        ({"cache": "soon"}, TypeError, "number of seconds"),
        ({"retries": -1}, ValueError, "retries must not be negative"),
        ({"retries": "often"}, TypeError, "retries must be"),
        ({"retries": (1, 2, 3, 4)}, TypeError, "retries must be"),
        ({"retries": (1, 10, 2)}, ValueError, "above max delay"),
        ({"delay": -5}, ValueError, "delay must not be negative"),
        ({"defer_params": "a"}, ValueError, "defer_params given without defer"),
        ({"defer": "yes"}, TypeError, "defer must be True, False or cf.Defer"),
        ({"memo": ["x"]}, ValueError, "unknown parameter 'x'"),
        ({"requires": {"gpu": 3}}, TypeError, r"requires\['gpu'\]"),
        ({"requires": {"gpu": []}}, TypeError, "at least one string"),
        ({"requires": ["gpu"]}, TypeError, "requires must be a mapping"),
        ({"name": ""}, ValueError, "non-empty string"),
    ],
)
def test_bad_options_fail_at_decoration_time(
    options: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        _options(**options)


def test_options_on_targets_with_var_positional_parameters() -> None:
    def fn(a: int, *rest: int, flag: bool = False) -> None: ...

    assert cf.task(wait="a")(fn).options.wait == (0,)
    with pytest.raises(ValueError, match="ambiguous with \\*args"):
        cf.task(memo=True)(fn)
    with pytest.raises(ValueError, match="fixed position"):
        cf.task(cache=True, cache_params=["flag"])(fn)


def test_var_keyword_parameters_are_rejected() -> None:
    def fn(**options: int) -> None: ...

    with pytest.raises(TypeError, match=r"\*\*options is not supported"):
        cf.task(fn)


def test_a_workflows_memo_memoises_the_calls_in_its_runs() -> None:
    def fn(x: int) -> None: ...

    assert cf.workflow(memo=True)(fn).options.memo_calls is True
    assert cf.workflow(fn).options.memo_calls is False
    assert cf.stub("other", type="workflow", memo=True)(fn).options.memo_calls is True
    assert cf.workflow(fn).with_memo(True).options.memo_calls is True
    with pytest.raises(TypeError, match="memo must be True or False"):
        cf.workflow(memo=["x"])(fn)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="memo must be True or False"):
        cf.stub("other", type="workflow", memo=["x"])(fn)
    with pytest.raises(TypeError, match="memo must be True or False"):
        cf.workflow(fn).with_memo("x")


def test_a_tasks_memo_is_unset_off_or_positions() -> None:
    def fn(a: int, b: int) -> None: ...

    assert cf.task(fn).options.memo is None  # follows the run
    assert cf.task(memo=False)(fn).options.memo is False  # even where the run memoises
    assert cf.task(memo=True)(fn).options.memo == (0, 1)
    assert cf.task(memo=["b"])(fn).options.memo == (1,)
    assert cf.task(memo=True)(fn).with_memo(False).options.memo is False


def test_decorating_a_target_twice_is_an_error() -> None:
    with pytest.raises(TypeError, match="decorates a function"):
        cf.task(add)


def test_stubs_name_another_repository_and_run_their_body_outside_executions() -> None:
    @cf.stub("other.repo", name="remote", retries=1)
    def remote(x: int) -> int: ...

    assert (remote.repository, remote.name, remote.type, remote.is_stub) == (
        "other.repo",
        "remote",
        "task",
        True,
    )
    assert remote.options.retries == protocol.RetryOptions(limit=1)
    assert remote(1) is None  # outside an execution the body is the stand-in
    assert remote.submit(1).result() is None
    with pytest.raises(ValueError, match="stub type"):
        cf.stub("other", type="sensor")  # type: ignore[arg-type]


def test_sensors_are_targets_of_type_sensor() -> None:
    @cf.sensor(requires={"region": "eu"})
    def watch(cursor: str | None = None) -> None: ...

    @cf.sensor
    def plain() -> None: ...

    assert (watch.type, watch.options.requires) == ("sensor", {"region": ("eu",)})
    assert plain.type == "sensor"


@pytest.mark.parametrize(
    "call", [lambda: cf.suspense(5), lambda: cf.suspend(), lambda: cf.checkpoint(1)]
)
def test_suspension_and_checkpoints_outside_an_execution_are_errors(call: Any) -> None:
    with pytest.raises(RuntimeError, match="only possible inside a Coflux execution"):
        call()


def test_logging_outside_an_execution_goes_to_the_logging_module(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="coflux.sdk"):
        cf.log_info("hello {name}, {missing}", name="Ada")
        cf.log_error("bad {", x=1)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "hello Ada, {missing}"),
        ("ERROR", "bad { {'x': 1}"),
    ]
