"""Errors rebuilt from another execution: both ``cf.ExecutionError`` and the original type."""

from __future__ import annotations

import pickle

import pytest

import coflux as cf
from coflux import errors
from coflux.agent.executor import error_info


class NeedsTwo(Exception):
    def __init__(self, first: str, second: str) -> None:
        super().__init__(first, second)


def test_a_rebuilt_error_is_an_execution_error_and_its_original_type() -> None:
    error = errors.rebuild_remote_error("builtins.KeyError", "'missing'", "Traceback ...")
    assert isinstance(error, KeyError)
    assert isinstance(error, cf.ExecutionError)
    assert not isinstance(error, cf.ExecutionTerminated)
    assert (error.remote_type, error.remote_message) == ("builtins.KeyError", "'missing'")  # type: ignore[attr-defined]
    assert (error.error_type, error.error_message) == ("builtins.KeyError", "'missing'")  # type: ignore[attr-defined]
    assert type(error).__qualname__ == "KeyError"


def test_both_except_clauses_match() -> None:
    for clause in (KeyError, cf.ExecutionError):
        with pytest.raises(clause):
            raise errors.rebuild_remote_error("builtins.KeyError", "'k'")


def test_a_message_gains_no_quotes_however_many_levels_pass_it_on() -> None:
    try:
        {}["missing"]
    except KeyError as e:
        info = error_info(e)
    for _ in range(3):  # each parent re-raises what its child raised
        rebuilt = errors.rebuild_remote_error(info.type, info.message, info.traceback)
        info = error_info(rebuilt)
        assert (info.type, info.message) == ("builtins.KeyError", "'missing'")
        assert str(rebuilt) == "'missing'"


def test_an_unimportable_type_stays_a_remote_error_and_keeps_its_name_upwards() -> None:
    error = errors.rebuild_remote_error("nowhere.Custom", "odd")
    assert type(error) is cf.RemoteError
    assert str(error) == "nowhere.Custom: odd"
    assert (error_info(error).type, error_info(error).message) == ("nowhere.Custom", "odd")


def test_a_type_that_cannot_be_built_from_a_message_falls_back() -> None:
    name = f"{__name__}.NeedsTwo"
    error = errors.rebuild_remote_error(name, "x")
    assert type(error) is cf.RemoteError
    assert error.remote_type == name  # type: ignore[attr-defined]


def test_a_rebuilt_error_pickles_as_itself() -> None:
    error = errors.rebuild_remote_error("builtins.ValueError", "bad", "tb")
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, ValueError) and isinstance(again, cf.ExecutionError)
    assert str(again) == "bad"


def test_terminations_are_execution_errors_too() -> None:
    for kind in (cf.ExecutionCancelled, cf.ExecutionAbandoned, cf.ExecutionTimeout):
        assert issubclass(kind, cf.ExecutionTerminated)
        assert issubclass(kind, cf.ExecutionError)
    assert not issubclass(cf.ExecutionTimeout, TimeoutError)
