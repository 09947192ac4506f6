"""The public surface of ``import coflux``: its names, and what it (doesn't) import."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import coflux

SRC = Path(coflux.__file__).resolve().parent.parent

PUBLIC = [
    "Asset",
    "AssetEntry",
    "Cache",
    "Defer",
    "Execution",
    "ExecutionAbandoned",
    "ExecutionCancelled",
    "ExecutionError",
    "ExecutionTerminated",
    "ExecutionTimeout",
    "Input",
    "InputDismissed",
    "Metric",
    "MetricGroup",
    "MetricScale",
    "Prompt",
    "RemoteError",
    "Retries",
    "Target",
    "asset",
    "cancel",
    "checkpoint",
    "group",
    "log_debug",
    "log_error",
    "log_info",
    "log_warning",
    "persist_asset",
    "progress",
    "restore_asset",
    "select",
    "sensor",
    "stub",
    "suspend",
    "suspense",
    "task",
    "workflow",
]

FORBIDDEN = ["starlette", "uvicorn", "websockets", "httpx", "click", "watchfiles", "sqlite3"]
FORBIDDEN_COFLUX = ["server", "store", "cli", "agent", "client", "orchestration"]


def test_all_is_pinned() -> None:
    assert sorted(coflux.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(coflux, name) is not None


def test_names_load_from_their_modules_on_first_use() -> None:
    from coflux.sdk import decorators

    assert coflux.task is decorators.task
    assert "task" in dir(coflux)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        coflux.nope  # noqa: B018


def test_public_names_have_no_private_extras() -> None:
    # Submodules imported along the way show up as attributes; nothing else may.
    extras = {
        name
        for name, value in vars(coflux).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert extras <= set(PUBLIC)


def test_errors_are_the_engines_own() -> None:
    from coflux import errors

    assert coflux.RemoteError is errors.RemoteError
    assert issubclass(coflux.ExecutionCancelled, coflux.ExecutionError)


def test_import_coflux_stays_light() -> None:
    script = "import sys, json, coflux; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    )
    modules = set(json.loads(done.stdout))
    assert "coflux.sdk" not in modules  # loaded when a name is first used
    assert not {m for m in modules if m.split(".")[0] in FORBIDDEN}
    assert not {
        m for m in modules if m.startswith("coflux.") and m.split(".")[1] in FORBIDDEN_COFLUX
    }


def test_version_is_the_installed_packages() -> None:
    from importlib import metadata

    assert coflux.__version__ == metadata.version("coflux")
