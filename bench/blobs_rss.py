"""Blob store memory: the server's peak RSS while a 200 MiB blob goes through it,
on the filesystem store and on the S3 store (against moto).

For each store, a fresh server process (the real app under uvicorn, its blob
store chosen with ``coflux.blobs.open_blob_store``) takes one 200 MiB blob the
way an executor sends and fetches one (``coflux.agent.blobs.BlobClient``: HEAD,
then PUT streamed from a file; then GET into a fresh cache). Measured from
``/proc``: the server's resident memory once it is ready (after a small blob went
through, so every module is loaded), and its peak (VmHWM) during the PUT and
during the GET, the peak being reset in between (``clear_refs``). moto runs in a
process of its own (see tests/support/s3.py); its memory is not the server's.

The issue's bound: the S3 store's peak at most twice the filesystem store's.

Writes bench/results/blobs_rss.json and .md. Run with: bench/run blobs_rss
(or .venv/bin/python bench/blobs_rss.py [--size MIB]).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

# Run as a script: our sibling modules, and the repository root for tests.support.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from measure import RESULTS, machine, poll, status_kb, table, write  # noqa: E402
from tests.support.cluster import free_port  # noqa: E402
from tests.support.s3 import start_service  # noqa: E402

from coflux.agent.blobs import BlobCache, BlobClient  # noqa: E402

MIB = 1024 * 1024

# The server: the real app, with the blob store the bench names (until `coflux
# server` takes one, this is how a store other than the default is chosen).
_SERVER = """
import sys
from pathlib import Path
import uvicorn
from coflux.blobs import open_blob_store
from coflux.server.app import create_app
data_dir, port, spec = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] or None
app = create_app(data_dir, session_timeout=30, admin_tokens=frozenset())
app.state.context.blobs = open_blob_store(spec, data_dir)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
"""


@contextlib.contextmanager
def server(data_dir: Path, spec: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """A server on a free port: its URL and pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(data_dir), str(port), spec],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            return httpx.get(url + "/api/openapi.json", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll(ready, timeout=30, interval=0.05)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stderr is not None:
            process.stderr.close()


def make_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path``; their sha256."""
    rng = random.Random(200)
    digest = hashlib.sha256()
    with open(path, "wb") as file:
        for _ in range(size // MIB):
            chunk = rng.randbytes(MIB)
            digest.update(chunk)
            file.write(chunk)
    return digest.hexdigest()


def reset_peak(pid: int) -> None:
    """Reset the process's VmHWM to its current RSS (Linux: ``clear_refs`` 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def measure(spec: str, env: dict[str, str], blob: Path, key: str, work: Path) -> dict[str, Any]:
    data_dir = work / f"data-{spec.split(':')[0] or 'filesystem'}"
    with server(data_dir, spec, env) as (url, pid):
        warm = work / "warm.bin"
        warm.write_bytes(b"warm up " * 1000)
        with BlobClient(url, None, BlobCache(work / "warm-cache")) as client:
            warm_key, _ = client.upload_file(str(warm))
            with BlobClient(url, None, BlobCache(work / "warm-cache-2")) as reader:
                reader.fetch(warm_key)
        ready_kb = status_kb(pid, "VmRSS")
        reset_peak(pid)
        started = time.perf_counter()
        with BlobClient(url, None, BlobCache(work / f"cache-put-{pid}")) as client:
            assert client.upload_file(str(blob))[0] == key
        put_s = time.perf_counter() - started
        put_kb = status_kb(pid, "VmHWM")
        reset_peak(pid)
        started = time.perf_counter()
        with BlobClient(url, None, BlobCache(work / f"cache-get-{pid}")) as client:
            fetched = client.fetch(key)
        get_s = time.perf_counter() - started
        get_kb = status_kb(pid, "VmHWM")
        assert fetched.stat().st_size == blob.stat().st_size
        fetched.unlink()
    return {
        "ready_mb": round(ready_kb / 1024, 1),
        "put_peak_mb": round(put_kb / 1024, 1),
        "get_peak_mb": round(get_kb / 1024, 1),
        "peak_mb": round(max(put_kb, get_kb) / 1024, 1),
        "put_s": round(put_s, 2),
        "get_s": round(get_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=200, help="the blob's size in MiB")
    args = parser.parse_args()
    size = args.size * MIB
    service = start_service()
    try:
        with tempfile.TemporaryDirectory(prefix="coflux-bench-blobs-") as directory:
            work = Path(directory)
            blob = work / "blob.bin"
            key = make_file(blob, size)
            bucket = "coflux-bench"
            service.client().create_bucket(Bucket=bucket)
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(service.env())
            env.update(AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent")
            stores = {
                "filesystem": measure("", env, blob, key, work),
                "s3": measure(f"s3://{bucket}/blobs", env, blob, key, work),
            }
    finally:
        service.stop()
    ratio = round(stores["s3"]["peak_mb"] / stores["filesystem"]["peak_mb"], 2)
    data = {
        "machine": machine(),
        "blob_mib": args.size,
        "stores": stores,
        "s3_over_filesystem_peak": ratio,
        "bound": 2.0,
    }
    rows = [
        [name, r["ready_mb"], r["put_peak_mb"], r["get_peak_mb"], r["put_s"], r["get_s"]]
        for name, r in stores.items()
    ]
    markdown = (
        f"# Blob stores: the server's memory with a {args.size} MiB blob\n\n"
        "Peak RSS (VmHWM) of the server process, reset between the PUT and the GET; "
        "S3 is moto (in a process of its own) on this machine. Run: `bench/run blobs_rss`.\n\n"
        + table(["store", "ready MB", "PUT peak MB", "GET peak MB", "PUT s", "GET s"], rows)
        + f"\n\nS3 peak / filesystem peak: {ratio} (bound: 2).\n"
    )
    write(RESULTS, "blobs_rss", data, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
