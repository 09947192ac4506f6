"""Coflux: workflows as plain Python functions.

This package's namespace is the SDK and nothing else (``import coflux as cf``).
It stays cheap to import: no server, store, agent, CLI or web code is loaded,
and the SDK itself only when one of its names is first used, so a program that
imports a submodule (the ``coflux`` command does, for every command) does not
pay for it.

.. code-block:: python

    import coflux as cf

    @cf.task(retries=2)
    def greet(name: str) -> str:
        return f"Hello, {name}"

    @cf.workflow
    def hello(name: str) -> str:
        return greet(name)
"""

import importlib
import typing

if typing.TYPE_CHECKING:  # the names as type checkers see them; at run time, __getattr__
    from coflux.errors import ExecutionAbandoned as ExecutionAbandoned
    from coflux.errors import ExecutionCancelled as ExecutionCancelled
    from coflux.errors import ExecutionError as ExecutionError
    from coflux.errors import ExecutionTerminated as ExecutionTerminated
    from coflux.errors import ExecutionTimeout as ExecutionTimeout
    from coflux.errors import InputDismissed as InputDismissed
    from coflux.errors import RemoteError as RemoteError
    from coflux.sdk.concurrency import cancel as cancel
    from coflux.sdk.concurrency import group as group
    from coflux.sdk.concurrency import select as select
    from coflux.sdk.decorators import sensor as sensor
    from coflux.sdk.decorators import stub as stub
    from coflux.sdk.decorators import task as task
    from coflux.sdk.decorators import workflow as workflow
    from coflux.sdk.handles import Asset as Asset
    from coflux.sdk.handles import AssetEntry as AssetEntry
    from coflux.sdk.handles import Execution as Execution
    from coflux.sdk.inputs import Input as Input
    from coflux.sdk.inputs import Prompt as Prompt
    from coflux.sdk.metrics import Metric as Metric
    from coflux.sdk.metrics import MetricGroup as MetricGroup
    from coflux.sdk.metrics import MetricScale as MetricScale
    from coflux.sdk.metrics import progress as progress
    from coflux.sdk.policies import Cache as Cache
    from coflux.sdk.policies import Defer as Defer
    from coflux.sdk.policies import Retries as Retries
    from coflux.sdk.runtime import asset as asset
    from coflux.sdk.runtime import checkpoint as checkpoint
    from coflux.sdk.runtime import log_debug as log_debug
    from coflux.sdk.runtime import log_error as log_error
    from coflux.sdk.runtime import log_info as log_info
    from coflux.sdk.runtime import log_warning as log_warning
    from coflux.sdk.runtime import persist_asset as persist_asset
    from coflux.sdk.runtime import restore_asset as restore_asset
    from coflux.sdk.runtime import suspend as suspend
    from coflux.sdk.runtime import suspense as suspense
    from coflux.sdk.target import Target as Target

# Where each public name is defined.
_MODULES = {
    "coflux.errors": (
        "ExecutionAbandoned",
        "ExecutionCancelled",
        "ExecutionError",
        "ExecutionTerminated",
        "ExecutionTimeout",
        "InputDismissed",
        "RemoteError",
    ),
    "coflux.sdk.concurrency": ("cancel", "group", "select"),
    "coflux.sdk.decorators": ("sensor", "stub", "task", "workflow"),
    "coflux.sdk.handles": ("Asset", "AssetEntry", "Execution"),
    "coflux.sdk.inputs": ("Input", "Prompt"),
    "coflux.sdk.metrics": ("Metric", "MetricGroup", "MetricScale", "progress"),
    "coflux.sdk.policies": ("Cache", "Defer", "Retries"),
    "coflux.sdk.runtime": (
        "asset",
        "checkpoint",
        "log_debug",
        "log_error",
        "log_info",
        "log_warning",
        "persist_asset",
        "restore_asset",
        "suspend",
        "suspense",
    ),
    "coflux.sdk.target": ("Target",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
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


__version__: str
"""The installed package's version (read from its metadata on first use)."""


def __getattr__(name: str) -> typing.Any:
    """Load a public name's module on first use, then keep the name here."""
    if name == "__version__":
        from importlib import metadata

        try:
            version = metadata.version("coflux")
        except metadata.PackageNotFoundError:  # run from a source tree, not installed
            version = "0+unknown"
        globals()[name] = version
        return version
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'coflux' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
