"""Project tokens: created and revoked by an admin, stored hashed, checked in constant time.

A token reads ``cfx_<id>_<secret>``. The id names the token in listings and in
``coflux tokens revoke``; only the sha256 of the secret is stored, so a copy of
the token file opens nothing. Secrets are 256 random bits, which is why one
round of sha256 is enough (a slow password hash guards guessable secrets).

The tokens live in ``<data-dir>/tokens.sqlite``, beside the projects, and every
check reads through an in-memory copy that creating and revoking keep current.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PREFIX = "cfx_"
ID_LENGTH = 12
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    project TEXT NOT NULL,
    environments TEXT,          -- JSON list of names; NULL: every environment
    read_only INTEGER NOT NULL,
    description TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
)
"""


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A project token as stored (without its secret)."""

    id: str
    project: str
    environments: tuple[str, ...] | None  # None: every environment of the project
    read_only: bool
    description: str
    created_at: float
    revoked_at: float | None
    secret_sha256: str

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """The id and secret of a string shaped like a project token, else None."""
    if not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(token_id) != ID_LENGTH or not secret:
        return None
    return token_id, secret


class TokenStore:
    """The project tokens of one server (thread-safe; writes are immediate and durable)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)
        self._tokens = {record.id: record for record in self._load()}

    def _load(self) -> list[TokenRecord]:
        rows = self._conn.execute(
            "SELECT id, project, environments, read_only, description, created_at, revoked_at,"
            " secret_sha256 FROM tokens ORDER BY created_at, id"
        ).fetchall()
        return [
            TokenRecord(
                row[0],
                row[1],
                tuple(json.loads(row[2])) if row[2] is not None else None,
                bool(row[3]),
                row[4],
                row[5],
                row[6],
                row[7],
            )
            for row in rows
        ]

    def create(
        self,
        project: str,
        environments: tuple[str, ...] | None,
        read_only: bool,
        description: str = "",
    ) -> tuple[TokenRecord, str]:
        """A new token for ``project``; returns its record and the token itself,
        which is never stored and cannot be shown again."""
        secret = secrets.token_urlsafe(32)
        with self._lock:
            token_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
            while token_id in self._tokens:
                token_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
            record = TokenRecord(
                token_id, project, environments, read_only, description, time.time(), None,
                _digest(secret),
            )  # fmt: skip
            self._conn.execute(
                "INSERT INTO tokens (id, secret_sha256, project, environments, read_only,"
                " description, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    record.id,
                    record.secret_sha256,
                    project,
                    json.dumps(list(environments)) if environments is not None else None,
                    int(read_only),
                    description,
                    record.created_at,
                ),
            )
            self._tokens[token_id] = record
        return record, f"{PREFIX}{token_id}_{secret}"

    def list(self) -> list[TokenRecord]:
        return list(self._tokens.values())

    def revoke(self, token_id: str) -> TokenRecord | None:
        """Revoke a token (at once, for every later request); None if there is none
        by that id. Revoking twice keeps the first time."""
        with self._lock:
            record = self._tokens.get(token_id)
            if record is None or record.revoked:
                return record
            revoked = TokenRecord(
                record.id, record.project, record.environments, record.read_only,
                record.description, record.created_at, time.time(), record.secret_sha256,
            )  # fmt: skip
            self._conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ?", (revoked.revoked_at, token_id)
            )
            self._tokens[token_id] = revoked
            return revoked

    def check(self, token: str) -> TokenRecord | None:
        """The live (unrevoked) token that ``token`` is, else None."""
        parts = split_token(token)
        if parts is None:
            return None
        record = self._tokens.get(parts[0])
        if record is None:
            # Compare anyway, so that an unknown id costs what a known one does.
            hmac.compare_digest(_digest(parts[1]), _digest(""))
            return None
        if not hmac.compare_digest(_digest(parts[1]), record.secret_sha256):
            return None
        return None if record.revoked else record

    def close(self) -> None:
        self._conn.close()
