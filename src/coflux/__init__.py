"""Coflux: workflows as plain Python functions.

This package's namespace is the SDK and nothing else (``import coflux as cf``).
It stays cheap to import: no server, store, agent, CLI or web code is loaded.

.. code-block:: python

    import coflux as cf

    @cf.task(retries=2)
    def greet(name: str) -> str:
        return f"Hello, {name}"

    @cf.workflow
    def hello(name: str) -> str:
        return greet(name)
"""

from coflux.errors import ExecutionAbandoned, ExecutionCancelled, ExecutionError, RemoteError
from coflux.sdk.decorators import sensor, stub, task, workflow
from coflux.sdk.handles import Asset, Execution
from coflux.sdk.runtime import (
    checkpoint,
    log_debug,
    log_error,
    log_info,
    log_warning,
    persist_asset,
    restore_asset,
    suspend,
    suspense,
)
from coflux.sdk.target import Target

__all__ = [
    "Asset",
    "Execution",
    "ExecutionAbandoned",
    "ExecutionCancelled",
    "ExecutionError",
    "RemoteError",
    "Target",
    "checkpoint",
    "log_debug",
    "log_error",
    "log_info",
    "log_warning",
    "persist_asset",
    "restore_asset",
    "sensor",
    "stub",
    "suspend",
    "suspense",
    "task",
    "workflow",
]
