"""Where the CLI's connection settings come from, and ``coflux.toml``.

Each of host, project, environment and token is taken from the first of: a
flag, its ``COFLUX_*`` environment variable, ``coflux.toml`` (flat keys, written
by ``coflux configure``), a default. The file is the nearest one: in the working
directory or the closest of its parents, as git finds its repository, so a
project's settings serve every directory inside it. A key the CLI does not know
is reported (one line on stderr) and ignored, so a typo does not go unnoticed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from coflux.client.client import DEFAULT_HOST

CONFIG_FILE = "coflux.toml"
KEYS = ("host", "project", "environment", "token")
DEFAULTS: Mapping[str, str] = {"host": DEFAULT_HOST, "environment": "production"}
NO_PROJECT = "no project: pass --project, set COFLUX_PROJECT or run coflux configure"


class ConfigError(Exception):
    """``coflux.toml`` cannot be read, or a required setting is missing."""


@dataclass(frozen=True)
class Config:
    host: str
    project: str | None
    environment: str
    token: str | None

    def require_project(self) -> str:
        """The project, or a ``ConfigError`` telling the user how to set one."""
        if not self.project:
            raise ConfigError(NO_PROJECT)
        return self.project


@dataclass(frozen=True)
class Settings:
    """What ``coflux.toml`` says: its known values, where it is, and its unknown keys."""

    values: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # None: no file was found
    unknown: tuple[str, ...] = ()

    def warnings(self) -> list[str]:
        """One line per unknown key, for stderr."""
        return [
            f"warning: {self.path}: unknown setting '{key}' is ignored (known: {', '.join(KEYS)})"
            for key in self.unknown
        ]


def find_file(start: Path | None = None) -> Path | None:
    """The nearest ``coflux.toml``: in ``start`` (the working directory) or the
    closest of its parents; None if there is none."""
    directory = (start or Path.cwd()).resolve()
    for candidate in (directory, *directory.parents):
        path = candidate / CONFIG_FILE
        if path.is_file():
            return path
    return None


def read_settings(start: Path | None = None) -> Settings:
    """The settings of the nearest ``coflux.toml`` (``find_file``).

    Raises:
        ConfigError: the file is not valid TOML or a value is not a string.
    """
    path = find_file(start)
    if path is None:
        return Settings()
    data = read_file(path.parent)
    unknown = tuple(key for key in data if key not in KEYS)
    known = {key: value for key, value in data.items() if key in KEYS}
    return Settings(known, path, unknown)


def read_file(directory: Path | None = None) -> dict[str, str]:
    """Every key of ``coflux.toml`` in ``directory`` itself (empty if there is none).

    Raises:
        ConfigError: the file is not valid TOML or a value is not a string.
    """
    path = (directory or Path.cwd()) / CONFIG_FILE
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read {path}: {e}") from None
    for key, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: '{key}' must be a string")
    return dict(data)


def write_file(values: Mapping[str, str], directory: Path | None = None) -> Path:
    """Write ``values`` as flat TOML string keys; the known keys come first."""
    path = (directory or Path.cwd()) / CONFIG_FILE
    ordered = [k for k in KEYS if k in values] + sorted(k for k in values if k not in KEYS)
    path.write_text(tomli_w.dumps({key: values[key] for key in ordered}), encoding="utf-8")
    return path


def resolve(flags: Mapping[str, str | None], file_values: Mapping[str, str]) -> Config:
    """Combine flags (already merged with the environment by click) with the file and defaults."""

    def pick(key: str) -> str | None:
        return flags.get(key) or file_values.get(key) or DEFAULTS.get(key)

    return Config(
        host=pick("host") or DEFAULT_HOST,
        project=pick("project"),
        environment=pick("environment") or DEFAULTS["environment"],
        token=pick("token"),
    )
