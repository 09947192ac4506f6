"""Repositories: loading them by file or module name, and describing their targets.

A path ending in ``.py`` is loaded as the repository named by the file's stem
(``flows/hello.py`` -> ``hello``), with its directory put on ``sys.path`` so that
it can import its neighbours; anything else is a module name imported as is
(``pkg.flows`` -> ``pkg.flows``). A repository's manifest lists the targets
*defined* in that module, not ones it imports from elsewhere.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from coflux import protocol
from coflux.sdk.target import Target, register_repository

__all__ = ["build_manifest", "find_targets", "load_repository"]


def _load_file(path: Path) -> ModuleType:
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None:
        existing_file = getattr(existing, "__file__", None)
        if existing_file is not None and Path(existing_file).resolve() == path:
            return existing
        raise ValueError(
            f"repository {path} would shadow the module {name!r} that is already imported"
        )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a module")
    module = importlib.util.module_from_spec(spec)
    # Registered before running it, as an import would, so that pickling and
    # `import hello` from inside the module find this same module object.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_repository(spec: str) -> tuple[str, ModuleType]:
    """Import a repository.

    Args:
        spec: a path to a ``.py`` file, or a module name.

    Returns:
        The repository's name and its module.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file's stem names another module that is already imported.
        Exception: whatever importing the user's code raised.
    """
    if spec.endswith(".py"):
        path = Path(spec).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"repository file not found: {spec}")
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        module = _load_file(path)
        repository = path.stem
    else:
        # Console scripts don't put the working directory on sys.path, but users
        # expect `coflux agent pkg.flows` to find ./pkg.
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(spec)
        repository = spec
    register_repository(module.__name__, repository)
    return repository, module


def find_targets(module: ModuleType) -> dict[str, Target[..., object]]:
    """The targets defined in ``module`` (not stubs, not re-exports), by name.

    Raises:
        ValueError: two different targets share a name.
    """
    found: dict[str, Target[..., object]] = {}
    for value in vars(module).values():
        if not isinstance(value, Target) or value.is_stub:
            continue
        if value.fn.__module__ != module.__name__:
            continue  # imported from another module
        other = found.get(value.name)
        if other is not None and other is not value:
            raise ValueError(f"{module.__name__}: two targets are named {value.name!r}")
        found[value.name] = value
    return found


def build_manifest(repository: str, module: ModuleType) -> protocol.Manifest:
    """Describe the targets of a loaded repository.

    Args:
        repository: the name the repository was loaded as.
        module: its module.

    Returns:
        The manifest: each target's name, type, parameters, docstring, options.

    Raises:
        ValueError: two different targets share a name.
    """
    targets = find_targets(module)
    return protocol.Manifest(
        repository=repository,
        targets=tuple(target.definition() for target in targets.values()),
    )
