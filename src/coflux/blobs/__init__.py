"""Content-addressed blob stores: large values and asset files, keyed by sha256.

``open_blob_store`` picks one from the server's ``--blobs`` option
(``COFLUX_BLOBS``): the files under the data directory by default, or an
S3-compatible bucket (``s3://bucket/prefix``).
"""

from __future__ import annotations

from pathlib import Path

from coflux.blobs.base import BlobStore


def open_blob_store(spec: str | None, data_dir: Path) -> BlobStore:
    """The blob store ``spec`` names.

    Args:
        spec: None (or empty) for the filesystem store in ``data_dir/blobs``;
            ``s3://bucket`` or ``s3://bucket/prefix`` for an S3-compatible store,
            configured by the standard AWS variables and files.
        data_dir: the server's data directory.

    Raises:
        ValueError: ``spec`` names no store this server can use (one line saying why).
    """
    if not spec:
        from coflux.blobs.filesystem import FilesystemBlobStore

        return FilesystemBlobStore(data_dir / "blobs")
    if spec.startswith("s3://"):
        from coflux.blobs.s3 import S3BlobStore  # imports obstore: only when asked for

        return S3BlobStore(spec)
    raise ValueError(
        f"unknown blob store {spec!r}: leave it out for the data directory, or give s3://bucket/prefix"
    )
