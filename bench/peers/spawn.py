"""Running a peer's process, and Redis for Celery, so that nothing outlives a run.

Every peer process starts in its own session with a marker in its environment
(``BENCH_PEER_MARKER``). Peers start helpers of their own (Ray's GCS and raylet,
Prefect's temporary server, Celery's worker), and some detach them; whatever
still carries the marker once the peer's process has ended is killed by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PEERS_DIR = Path(__file__).resolve().parent
HARNESS = PEERS_DIR / "harness.py"
WORK = PEERS_DIR.parent / "work"
LOGS = WORK / "logs"


class PeerFailed(Exception):
    """A peer's process failed or timed out; the message says how (stderr's last lines)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reap(marker: str) -> list[int]:
    """Kill every process whose environment carries ``marker``; their pids."""
    needle = f"BENCH_PEER_MARKER={marker}".encode()
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
    return killed


def _environment(peer: str, tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COFLUX_", "PREFECT_"))}
    env.update(
        PYTHONPATH=str(PEERS_DIR),
        BENCH_PEER_TMP=str(tmp),
        # Files peers keep in the home directory (Ray's auth token) stay in ``tmp``.
        HOME=str(tmp / "home"),
        # Prefect: a fresh home (its SQLite database and settings), its local
        # temporary server, quiet console logging and no telemetry.
        PREFECT_HOME=str(tmp / "prefect-home"),
        PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="true",
        PREFECT_LOGGING_LEVEL="WARNING",
        DO_NOT_TRACK="1",
        RAY_USAGE_STATS_ENABLED="0",
        **extra,
    )
    return env


def run_peer(
    python: Path, peer: str, args: list[str], extra: dict[str, str], timeout: float
) -> list[dict[str, Any]]:
    """Run ``harness.py PEER ARGS`` in the peer's venv; the JSON lines it printed.

    Raises:
        PeerFailed: it exited with an error or ran past ``timeout`` seconds.
    """
    marker = uuid.uuid4().hex
    tmp = WORK / "tmp" / peer  # short: Ray's socket paths must stay under 107 bytes
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{peer}-{args[0]}.log"
    env = _environment(peer, tmp, {**extra, "BENCH_PEER_MARKER": marker})
    command = [str(python), str(HARNESS), peer, *args]
    with log.open("a") as stderr:
        stderr.write(f"\n--- {time.strftime('%H:%M:%S')} {' '.join(command[2:])}\n")
        stderr.flush()
        process = subprocess.Popen(
            command, cwd=PEERS_DIR, env=env, text=True,
            stdout=subprocess.PIPE, stderr=stderr, start_new_session=True,
        )  # fmt: skip
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise PeerFailed(f"{peer} {args[0]} timed out after {timeout:.0f} s") from None
        finally:
            leftovers = reap(marker)
            if leftovers:
                print(f"{peer}: killed {len(leftovers)} leftover processes", file=sys.stderr)
            shutil.rmtree(tmp, ignore_errors=True)
    if process.returncode != 0:
        tail = " | ".join(log.read_text().strip().splitlines()[-3:])
        raise PeerFailed(f"{peer} {args[0]} exited {process.returncode}: {tail[-600:]}")
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def ensure_redis() -> str:
    """The path of ``redis-server``, installing Debian's package when it is missing.

    Raises:
        PeerFailed: it is not installed and could not be.
    """
    found = shutil.which("redis-server")
    if found is None:
        print("installing redis-server (Debian) ...", file=sys.stderr, flush=True)
        install = "apt-get update -qq && apt-get install -y -qq redis-server"
        subprocess.run(["sh", "-c", install], capture_output=True, timeout=900)
        found = shutil.which("redis-server")
    if found is None:
        raise PeerFailed("redis-server is not installed and `apt-get install` failed")
    return found


def _pong(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private Redis on 127.0.0.1 and a free port, in memory only; its URL.

    Stopped (and killed if it lingers) when the block ends.
    """
    port = free_port()
    args = [ensure_redis(), "--port", str(port), "--bind", "127.0.0.1"]
    args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _pong(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise PeerFailed(f"redis-server did not start on port {port}")
            time.sleep(0.005)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
