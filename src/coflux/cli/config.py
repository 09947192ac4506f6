"""Where the CLI's connection settings come from, and ``coflux.toml``.

Each of host, project, environment and token is taken from the first of: a
flag, its ``COFLUX_*`` environment variable, ``coflux.toml`` in the working
directory (flat keys, written by ``coflux configure``), a default.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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


def read_file(directory: Path | None = None) -> dict[str, str]:
    """The settings in ``coflux.toml`` (empty if there is none).

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
    # A JSON string is a valid TOML basic string (same escapes), so json.dumps quotes safely.
    lines = [f"{key} = {json.dumps(values[key], ensure_ascii=False)}\n" for key in ordered]
    path.write_text("".join(lines), encoding="utf-8")
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
