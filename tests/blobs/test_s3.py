"""The S3 store's own parts: choosing a store, the URL, where objects go, and the
AWS settings it takes from the variables and the shared files."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coflux.blobs import open_blob_store
from coflux.blobs.filesystem import FilesystemBlobStore
from coflux.blobs.s3 import S3BlobStore, _settings, parse_url
from tests.support.s3 import Bucket

CONTENT = b"an object in a bucket"
KEY = hashlib.sha256(CONTENT).hexdigest()


async def once(content: bytes) -> AsyncIterator[bytes]:
    yield content


def test_no_spec_is_the_data_directory(tmp_path: Path) -> None:
    store = open_blob_store(None, tmp_path)
    assert isinstance(store, FilesystemBlobStore)
    assert store._location(KEY) == tmp_path / "blobs" / KEY[:2] / KEY


def test_an_s3_url_is_an_s3_store(s3_bucket: Bucket, tmp_path: Path) -> None:
    store = open_blob_store(f"s3://{s3_bucket.name}/team/blobs", tmp_path)
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == (s3_bucket.name, "team/blobs")


@pytest.mark.parametrize(
    "spec", ["/var/blobs", "file:///var/blobs", "gs://bucket/x", "S3://bucket", "minio://b"]
)
def test_anything_else_is_refused_in_one_line(spec: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown blob store") as refused:
        open_blob_store(spec, tmp_path)
    assert "\n" not in str(refused.value) and "s3://bucket/prefix" in str(refused.value)


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://my.bucket-1/a/b_c/d-e.f", ("my.bucket-1", "a/b_c/d-e.f")),
        ("s3://bucket/prefix/", ("bucket", "prefix")),
    ],
)
def test_urls_name_a_bucket_and_a_prefix(url: str, parsed: tuple[str, str]) -> None:
    assert parse_url(url) == parsed


@pytest.mark.parametrize(
    "url",
    [
        "s3://", "s3:///prefix", "s3://B/x", "s3://ab", "s3://user@bucket/x",
        "s3://bucket:9000/x", "s3://bucket/a//b", "s3://bucket/../x", "s3://bucket/a/./b",
        "s3://bucket/a b", "s3://bucket/x?versionId=1", "s3://bucket/x#y", "https://bucket/x",
    ],
)  # fmt: skip
def test_urls_s3_would_not_take_as_they_are_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        S3BlobStore(url)


def test_importing_the_blob_stores_does_not_import_the_s3_library() -> None:
    code = (
        "import sys, coflux.blobs, coflux.blobs.filesystem, coflux.server.api.blobs;"
        "print('obstore' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


async def test_objects_live_under_the_prefix_by_their_first_two_hex_digits(
    s3_bucket: Bucket,
) -> None:
    store = S3BlobStore(s3_bucket.url("team/blobs"))
    assert await store.put(KEY, once(CONTENT), max_size=100) is True
    assert s3_bucket.names() == [f"team/blobs/{KEY[:2]}/{KEY}"]
    assert s3_bucket.read(f"team/blobs/{KEY[:2]}/{KEY}") == CONTENT
    s3_bucket.write(f"team/blobs/{KEY[:2]}/{KEY}", b"damaged")
    blob = await store.open(KEY)
    assert blob is not None
    with pytest.raises(Exception, match="corrupt"):
        async for _ in blob.chunks:
            pass
    [aside] = s3_bucket.names()
    assert aside.startswith(f"team/blobs/corrupt/{KEY}.")
    assert s3_bucket.read(aside) == b"damaged"  # kept for inspection


async def test_a_store_without_a_prefix_uses_the_bucket_root(s3_bucket: Bucket) -> None:
    store = S3BlobStore(s3_bucket.url())
    assert await store.put(KEY, once(CONTENT), max_size=100) is True
    assert s3_bucket.names() == [f"{KEY[:2]}/{KEY}"]


# --- settings ------------------------------------------------------------------------


def write_files(directory: Path, credentials: str, config: str) -> dict[str, str]:
    (directory / "credentials").write_text(credentials)
    (directory / "config").write_text(config)
    return {
        "AWS_SHARED_CREDENTIALS_FILE": str(directory / "credentials"),
        "AWS_CONFIG_FILE": str(directory / "config"),
    }


def test_the_shared_files_fill_in_what_the_variables_leave_out(tmp_path: Path) -> None:
    files = write_files(
        tmp_path,
        "[default]\naws_access_key_id = DK\naws_secret_access_key = DS\n"
        "[work]\naws_access_key_id = WK\naws_secret_access_key = WS\naws_session_token = WT\n",
        "[default]\nregion = eu-west-1\n"
        "[profile work]\nregion = eu-north-1\nendpoint_url = http://127.0.0.1:9000\n",
    )
    config, endpoint = _settings(files)
    assert config == {"access_key_id": "DK", "secret_access_key": "DS", "region": "eu-west-1"}
    assert endpoint is None
    config, endpoint = _settings({**files, "AWS_PROFILE": "work"})
    assert config == {
        "access_key_id": "WK", "secret_access_key": "WS", "session_token": "WT",
        "region": "eu-north-1", "endpoint": "http://127.0.0.1:9000",
    }  # fmt: skip
    assert endpoint == "http://127.0.0.1:9000"


def test_the_variables_win_and_credentials_are_never_mixed(tmp_path: Path) -> None:
    files = write_files(
        tmp_path,
        "[default]\naws_access_key_id = FK\naws_secret_access_key = FS\naws_session_token = FT\n",
        "[default]\nregion = eu-west-1\nendpoint_url = http://files:9000\n",
    )
    env = {
        **files, "AWS_ACCESS_KEY_ID": "EK", "AWS_SECRET_ACCESS_KEY": "ES",
        "AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL": "https://env:9000",
    }  # fmt: skip
    # Nothing from the files: obstore reads the variables (a value passed would win).
    assert _settings(env) == ({}, "https://env:9000")


def test_missing_or_broken_files_add_nothing(tmp_path: Path) -> None:
    (tmp_path / "credentials").write_text("not [an ini file")
    env = {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "absent"),
    }
    assert _settings(env) == ({}, None)


async def test_the_endpoint_and_credentials_may_come_from_the_files(
    s3_bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto checks no credentials; what this shows is that the endpoint (plain HTTP
    # allowed for it) was taken from the config file of the profile named.
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        monkeypatch.delenv(name)
    files = write_files(
        tmp_path,
        "[bench]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        f"[profile bench]\nregion = us-east-1\nendpoint_url = {s3_bucket.service.endpoint}\n",
    )
    for name, value in {**files, "AWS_PROFILE": "bench"}.items():
        monkeypatch.setenv(name, value)
    store = S3BlobStore(s3_bucket.url("blobs"), retries=0)
    assert await store.put(KEY, once(CONTENT), max_size=100) is True
    assert s3_bucket.names() == [f"blobs/{KEY[:2]}/{KEY}"]


async def test_one_part_blobs_are_written_conditionally(s3_bucket: Bucket) -> None:
    # All three find the blob missing, then write at once: If-None-Match lets one
    # create it; the others learn it is there (False), and nothing is overwritten.
    store = S3BlobStore(s3_bucket.url("blobs"))
    created = await asyncio.gather(*(store.put(KEY, once(CONTENT), max_size=100) for _ in range(3)))
    assert sorted(created) == [False, False, True]
    assert s3_bucket.names() == [f"blobs/{KEY[:2]}/{KEY}"]
