"""An S3-compatible service for tests: moto's standalone server, on 127.0.0.1.

``ThreadedMotoServer`` runs in a child process of its own (on a port the system
picks, which the child reports), not in the test process: moto keeps every
object in memory and joins a multipart upload's parts in memory when it is
completed, and tests measure what the store under test holds in memory, which
moto's buffers would drown. One service serves the whole session; each test gets
a fresh bucket (``s3_bucket``) with the AWS variables pointing at the service,
and the service is reset afterwards.

moto is a mock; see docs/values.md ("The S3 store") for what it does not check.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

# The child: start moto, say where it listens, serve until its stdin closes.
_SERVE = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print("%s:%d" % server.get_host_and_port(), flush=True)
sys.stdin.read()
server.stop()
"""

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class S3Service:
    """A running moto server."""

    endpoint: str
    process: subprocess.Popen[str]
    _client: Any = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        """The AWS variables that point a client at this service."""
        return {**CREDENTIALS, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.endpoint}

    def client(self) -> Any:
        """A boto3 S3 client of the service (to look at and damage objects directly).

        Made once, with no AWS variable in sight: boto3 would otherwise read the
        profile and files a test sets up for the store under test.
        """
        if self._client is None:
            import boto3

            saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AWS_")}
            try:
                self._client = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint, region_name="us-east-1",
                    aws_access_key_id="testing", aws_secret_access_key="testing",
                )  # fmt: skip
            finally:
                os.environ.update(saved)
        return self._client

    def reset(self) -> None:
        httpx.post(self.endpoint + "/moto-api/reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_service() -> S3Service:
    """Start a moto server in a child process; stop it with ``stop()``."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    address = process.stdout.readline().strip()
    if not address:
        process.kill()
        raise RuntimeError("moto's server did not start")
    return S3Service(f"http://{address}", process)


@dataclass
class Bucket:
    """A fresh bucket of the service, and direct access to its objects."""

    service: S3Service
    name: str

    def url(self, prefix: str = "") -> str:
        return f"s3://{self.name}/{prefix}".rstrip("/")

    def names(self, prefix: str = "") -> list[str]:
        listed = self.service.client().list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, name: str) -> bytes:
        body = self.service.client().get_object(Bucket=self.name, Key=name)["Body"]
        return bytes(body.read())

    def write(self, name: str, content: bytes) -> None:
        self.service.client().put_object(Bucket=self.name, Key=name, Body=content)

    def multipart_uploads(self) -> list[str]:
        listed = self.service.client().list_multipart_uploads(Bucket=self.name)
        return [upload["Key"] for upload in listed.get("Uploads", [])]


@pytest.fixture(scope="session")
def s3_service() -> Iterator[S3Service]:
    service = start_service()
    yield service
    service.stop()


@pytest.fixture
def s3_bucket(
    s3_service: S3Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Bucket]:
    """A new bucket, with the AWS variables set for it (and no shared files read)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_service.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    bucket = Bucket(s3_service, f"coflux-{uuid.uuid4().hex[:12]}")
    s3_service.client().create_bucket(Bucket=bucket.name)
    yield bucket
    s3_service.reset()  # drops every bucket, and the memory their objects held
