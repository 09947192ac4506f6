"""Hatchling build hook: Studio's build goes into every wheel and sdist.

Studio (``studio/``, TypeScript) is built by Vite into ``src/coflux/server/static``,
which git ignores, so without this hook a wheel would hold no Studio and its
server would answer "Studio is not built" for a folder a pip user does not have.
Before a wheel or an sdist is built, Studio is built when its build is missing
or older than one of its sources (``npm ci`` first if its Node modules are
missing), and the build is shipped as an artifact. A wheel built from the sdist
finds the build already there (the sdist carries it, newer than its sources) and
needs no Node.js. Editable installs (``scripts/setup``) are left alone: the
setup script builds Studio in the checkout itself.

``COFLUX_BUILD_WITHOUT_STUDIO=1`` builds a package without Studio (its server
then shows the page saying how to build it), for machines with no Node.js.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# What Studio's build is made from (as scripts/setup checks them).
SOURCES = (
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)


def _newest(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                newest = max(newest, file.stat().st_mtime)
    return newest


class StudioBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable" or os.environ.get("COFLUX_BUILD_WITHOUT_STUDIO") == "1":
            return
        root = Path(self.root)
        studio = root / "studio"
        index = root / "src" / "coflux" / "server" / "static" / "index.html"
        sources = [studio / name for name in SOURCES if (studio / name).exists()]
        stale = not index.exists() or (sources and _newest(sources) > index.stat().st_mtime)
        if stale and sources:
            self._build(studio)
        if not index.exists():
            raise RuntimeError(
                "Studio is not built and cannot be: install Node.js >= 20.19 (npm), or set"
                " COFLUX_BUILD_WITHOUT_STUDIO=1 to build a package without the web UI"
            )

    def _build(self, studio: Path) -> None:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "building Studio needs npm (Node.js >= 20.19); or set"
                " COFLUX_BUILD_WITHOUT_STUDIO=1 to build a package without the web UI"
            )
        if not (studio / "node_modules" / ".package-lock.json").exists():
            self.app.display_info("installing Studio's Node dependencies (npm ci) ...")
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=studio, check=True)
        self.app.display_info("building Studio (npm run build) ...")
        subprocess.run([npm, "run", "build"], cwd=studio, check=True)
