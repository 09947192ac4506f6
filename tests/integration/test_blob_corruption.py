"""A blob damaged on the real server's disk is never served as the blob.

A small one is answered 500 ``blob_corrupt``; a large one (past the size that
is verified before the answer) breaks off before its end, through uvicorn.
Either way the server logs the corruption with the key and moves the file
aside, and uploading the right content again stores it anew.
"""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from coflux.server.api.blobs import VERIFY_FIRST
from tests.support.cluster import Cluster
from tests.support.eventually import eventually


def damage(cluster: Cluster, key: str) -> None:
    path = cluster.server.data_dir / "blobs" / key[:2] / key
    with open(path, "r+b") as file:
        file.seek(os.path.getsize(path) // 2)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0xFF]))


def upload(cluster: Cluster, content: bytes) -> str:
    key = hashlib.sha256(content).hexdigest()
    assert cluster.api("PUT", f"/blobs/{key}", content=content).status_code == 201
    return key


def reported(cluster: Cluster, key: str) -> bool:
    assert cluster.server.process is not None
    output = cluster.server.process.output.text()
    return any("corrupt" in line and key in line for line in output.splitlines())


@pytest.mark.embedded_storage  # corrupts the files of the data directory
def test_a_small_corrupt_blob_is_a_500_and_a_new_upload_heals_it(cluster: Cluster) -> None:
    content = b"small and precious " * 100
    key = upload(cluster, content)
    damage(cluster, key)
    response = cluster.api("GET", f"/blobs/{key}")
    assert response.status_code == 500
    assert response.json()["error"]["reason"] == "blob_corrupt"
    eventually(lambda: reported(cluster, key), 10, message="the corruption in the server's log")
    assert list((cluster.server.data_dir / "blobs" / "corrupt").iterdir())
    assert cluster.api("GET", f"/blobs/{key}").status_code == 404
    assert upload(cluster, content) == key
    healed = cluster.api("GET", f"/blobs/{key}")
    assert healed.status_code == 200 and healed.content == content


@pytest.mark.embedded_storage  # corrupts the files of the data directory
def test_a_large_corrupt_blob_breaks_off_before_its_end(cluster: Cluster) -> None:
    content = os.urandom(VERIFY_FIRST + 3 * 1024 * 1024)
    key = upload(cluster, content)
    damage(cluster, key)
    received = bytearray()
    url = f"{cluster.server.url}/blobs/{key}"
    with pytest.raises(httpx.HTTPError), httpx.stream("GET", url, timeout=30) as response:
        assert response.status_code == 200  # sent before the end could be checked
        for chunk in response.iter_bytes():
            received += chunk
    assert len(received) < len(content)
    eventually(lambda: reported(cluster, key), 10, message="the corruption in the server's log")
    assert upload(cluster, content) == key
    assert cluster.api("GET", f"/blobs/{key}").content == content
