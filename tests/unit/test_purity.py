"""The pure orchestration modules import nothing that does I/O or reads the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import coflux.orchestration

PURE = [
    "states",
    "model",
    "events",
    "effects",
    "core",
    "environments",
    "recovery",
    "runs",
    "sessions",
    "outcomes",
    "executions",
    "arguments",
    "metrics",
    "retries",
    "handles",
]
FORBIDDEN = {"asyncio", "sqlite3", "starlette", "time", "socket", "os", "random", "secrets",
             "threading", "uvicorn", "websockets", "httpx", "datetime"}  # fmt: skip


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports(module: str) -> None:
    path = Path(coflux.orchestration.__file__).parent / f"{module}.py"
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    roots = {name.split(".")[0] for name in imported}
    assert not roots & FORBIDDEN, f"{module} imports {roots & FORBIDDEN}"
    stores = {name for name in imported if name.startswith("coflux.store")}
    allowed = {"coflux.store.base"} if module == "recovery" else set()
    assert stores <= allowed, f"{module} imports {stores}"
