"""Project tokens: created and revoked by an admin, stored hashed, checked in constant time.

A token reads ``cfx_<id>_<secret>``. The id names the token in listings and in
``coflux tokens revoke``; only the sha256 of the secret is stored, so a copy of
the stored records opens nothing. Secrets are 256 random bits, which is why one
round of sha256 is enough (a slow password hash guards guessable secrets).

Where the records are kept (``coflux.store.base.TokenRecords``) follows the
projects: in ``<data-dir>/tokens.sqlite`` (``TokenFile``) beside SQLite project
files, and in the database when the projects are in PostgreSQL
(``store/postgres/tokens.py``), so that every server sharing it knows the same
tokens. Either way every check reads an in-memory copy (``TokenStore``) that
creating and revoking through this server keep current at once.

Other servers on the same database change the records too, so there a check
never answers from a copy read more than ``MAX_AGE`` (1 s) before it began: a
token revoked through one server is refused by every server within that time,
and at once by the one that revoked it. A token this server does not know (one
just created elsewhere) makes the check wait for a read that began after it did,
so a new token works on every server at once. Reading first asks the database
only how many tokens and revocations it holds (nothing is ever deleted, so the
same counts mean the same records) and loads them all only when that changed. Reads
are shared by the checks waiting for them and begin at most every
``READ_SPACING`` (0.25 s), so a client sending random tokens costs at most four
small queries a second, however fast it sends them. A read that fails refuses
the checks waiting for it (503 ``database_unavailable``): without it, a revoked
token could pass.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from coflux.errors import NotFound
from coflux.store.base import TokenRecord, TokenRecords

logger = logging.getLogger(__name__)

PREFIX = "cfx_"
ID_LENGTH = 12
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
TOKEN_FILE = "tokens.sqlite"

MAX_AGE = 1.0  # seconds: the oldest copy of shared records a check may answer from
READ_SPACING = 0.25  # seconds: the least time between two reads of shared records

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

_COLUMNS = (
    "id, project, environments, read_only, description, created_at, revoked_at, secret_sha256"
)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """The id and secret of a string shaped like a project token, else None."""
    if not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(token_id) != ID_LENGTH or not secret:
        return None
    return token_id, secret


def _new_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))


class TokenFile:
    """``TokenRecords`` in ``<data-dir>/tokens.sqlite``: the tokens of one server."""

    shared = False  # the data directory's lock keeps every other server out

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)

    def load(self) -> list[TokenRecord]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM tokens ORDER BY created_at, id"
            ).fetchall()
        return [_from_row(row) for row in rows]

    def counts(self) -> tuple[int, int]:
        with self._lock:
            row = self._conn.execute("SELECT count(*), count(revoked_at) FROM tokens").fetchone()
        return int(row[0]), int(row[1])

    def insert(self, record: TokenRecord) -> bool:
        environments = record.environments
        with self._lock:
            return (
                self._conn.execute(
                    "INSERT OR IGNORE INTO tokens (id, secret_sha256, project, environments,"
                    " read_only, description, created_at, revoked_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                    (
                        record.id,
                        record.secret_sha256,
                        record.project,
                        json.dumps(list(environments)) if environments is not None else None,
                        int(record.read_only),
                        record.description,
                        record.created_at,
                    ),
                ).rowcount
                == 1
            )

    def revoke(self, token_id: str, at: float) -> TokenRecord | None:
        with self._lock:
            self._conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (at, token_id),
            )
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM tokens WHERE id = ?", (token_id,)
            ).fetchone()
        return None if row is None else _from_row(row)

    def close(self) -> None:
        self._conn.close()


def _from_row(row: tuple[Any, ...]) -> TokenRecord:
    environments = tuple(json.loads(row[2])) if row[2] is not None else None
    return TokenRecord(row[0], row[1], environments, bool(row[3]), row[4], row[5], row[6], row[7])


def _version(records: Iterable[TokenRecord]) -> tuple[int, int]:
    """What ``TokenRecords.counts`` says of the records it loaded."""
    listed = list(records)
    return len(listed), sum(r.revoked for r in listed)


def _retrieved(read: asyncio.Future[None]) -> None:
    """A read's failure is seen by the checks waiting for it, if any are left: not
    reported again when no check is."""
    if not read.cancelled():
        read.exception()


def open_token_store(data_dir: Path, shared: TokenRecords | None) -> TokenStore:
    """The server's tokens: ``shared`` (the catalog's, ``ProjectCatalog.tokens``), or
    else ``<data-dir>/tokens.sqlite``.

    A server moved onto a shared database keeps the tokens it had: those of its
    ``tokens.sqlite`` are copied into the database (again at every start, which adds
    nothing twice), and the file is not used after.
    """
    path = data_dir / TOKEN_FILE
    if shared is None:
        return TokenStore(TokenFile(path))
    if path.exists():
        earlier = TokenFile(path)
        try:
            added = _copy(earlier.load(), shared)
        finally:
            earlier.close()
        if added:
            logger.info("copied %d project token(s) from %s into the database", added, path)
    return TokenStore(shared)


def _copy(records: list[TokenRecord], into: TokenRecords) -> int:
    """Record ``records`` (with their revocations) in ``into``; how many were new."""
    added = 0
    for record in records:
        unrevoked = TokenRecord(
            record.id, record.project, record.environments, record.read_only,
            record.description, record.created_at, None, record.secret_sha256,
        )  # fmt: skip
        try:
            added += into.insert(unrevoked)
        except NotFound:  # its project was not moved into the database
            logger.warning(
                "project token %s: its project %s is not in the database; not copied",
                record.id, record.project,
            )  # fmt: skip
            continue
        if record.revoked_at is not None:
            into.revoke(record.id, record.revoked_at)
    return added


class TokenStore:
    """The project tokens of one server, checked against an in-memory copy (see the
    module docstring). Its coroutines run on the server's event loop; the records
    are read and written on threads.

    Args:
        records: where the tokens are kept.
        max_age: seconds; with shared records, the oldest copy a check answers from.
        spacing: seconds; with shared records, the least time between two reads.
        clock: gives the tokens' creation and revocation times.
        monotonic: measures the copy's age.
    """

    def __init__(
        self,
        records: TokenRecords,
        *,
        max_age: float = MAX_AGE,
        spacing: float = READ_SPACING,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._records = records
        self._max_age = max_age
        self._spacing = spacing
        self._clock = clock
        self._monotonic = monotonic
        self._read_at = monotonic()  # when the records were last read (or found unchanged)
        loaded = records.load()
        self._tokens = {record.id: record for record in loaded}
        self._version = _version(loaded)  # of the records as last loaded
        self._began_at = float("-inf")  # when the latest read began
        self._begun = 0  # reads begun: each one's number
        self._done = 0  # the number of the latest read that succeeded
        self._reading: asyncio.Future[None] | None = None

    async def create(
        self,
        project: str,
        environments: tuple[str, ...] | None,
        read_only: bool,
        description: str = "",
    ) -> tuple[TokenRecord, str]:
        """A new token for ``project`` (its id); returns its record and the token
        itself, which is never stored and cannot be shown again.

        Raises:
            coflux.errors.Unavailable: ``database_unavailable`` (shared records).
            coflux.errors.NotFound: ``unknown_project`` (see ``TokenRecords.insert``).
        """
        secret = secrets.token_urlsafe(32)
        while True:
            record = TokenRecord(
                _new_id(), project, environments, read_only, description, self._clock(), None,
                digest(secret),
            )  # fmt: skip
            # A taken id (one in 10^18 for two tokens) is drawn again.
            if record.id not in self._tokens and await asyncio.to_thread(
                self._records.insert, record
            ):
                break
        self._tokens[record.id] = record
        return record, f"{PREFIX}{record.id}_{secret}"

    async def list(self) -> list[TokenRecord]:
        """Every token, oldest first: read again first if other servers change them.

        Raises:
            coflux.errors.Unavailable: ``database_unavailable`` (shared records).
        """
        if self._records.shared:
            began = self._monotonic()
            self._install(await asyncio.to_thread(self._records.load), began)
        return sorted(self._tokens.values(), key=lambda r: (r.created_at, r.id))

    async def revoke(self, token_id: str) -> TokenRecord | None:
        """Revoke a token, for every later request (on other servers sharing the
        records, within ``max_age``); None if there is none by that id. Revoking
        twice keeps the first time.

        Raises:
            coflux.errors.Unavailable: ``database_unavailable`` (shared records).
        """
        record = await asyncio.to_thread(self._records.revoke, token_id, self._clock())
        if record is not None:
            self._tokens[token_id] = record
        return record

    async def check(self, token: str) -> TokenRecord | None:
        """The live (unrevoked) token that ``token`` is, else None.

        Raises:
            coflux.errors.Unavailable: ``database_unavailable``: the shared records
                could not be read, so whether the token was revoked is not known.
        """
        parts = split_token(token)
        if parts is None:
            return None
        token_id, secret = parts
        hashed = digest(secret)
        record = self._tokens.get(token_id)
        if record is not None and (
            record.revoked or not hmac.compare_digest(hashed, record.secret_sha256)
        ):
            return None  # for good: a revocation stays, and a secret never changes
        if self._records.shared:
            # Unknown here: perhaps just created elsewhere, so a read begun after now.
            await self._fresh(None if record is None else self._monotonic() - self._max_age)
            record = self._tokens.get(token_id)
        if record is None:
            # Compare anyway, so that an unknown id costs what a known one does.
            hmac.compare_digest(hashed, digest(""))
            return None
        if not hmac.compare_digest(hashed, record.secret_sha256):
            return None
        return None if record.revoked else record

    async def _fresh(self, since: float | None) -> None:
        """Return once the copy is what the records held at ``since`` (monotonic) or
        later (None: now, so a read begun after this call), reading them again if
        needed: one read at a time, shared by every check waiting for one, and begun
        at most every ``spacing`` seconds.

        Raises:
            coflux.errors.Unavailable: the read this waited for failed.
        """
        before = self._begun

        def fresh() -> bool:
            return self._done > before if since is None else self._read_at >= since

        while not fresh():
            if self._reading is None:
                delay = self._began_at + self._spacing - self._monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self._reading is None:  # else another check began one meanwhile
                    self._reading = asyncio.ensure_future(self._read())
                    self._reading.add_done_callback(_retrieved)
            # Shielded: a request that goes away does not cancel the others' read.
            await asyncio.shield(self._reading)

    async def _read(self) -> None:
        began = self._began_at = self._monotonic()
        self._begun += 1
        number = self._begun
        try:
            loaded = await asyncio.to_thread(self._load_if_changed)
        finally:
            self._reading = None
        self._done = number
        if loaded is None:
            self._read_at = max(self._read_at, began)
        else:
            self._install(loaded, began)

    def _load_if_changed(self) -> Sequence[TokenRecord] | None:
        """Every token, unless the counts say they are what was loaded last (None)."""
        if self._records.counts() == self._version:
            return None
        return self._records.load()

    def _install(self, loaded: Sequence[TokenRecord], began: float) -> None:
        """Take ``loaded`` (read from ``began`` on) as the copy, keeping what this
        server wrote since that read began: a token it created, and a revocation."""
        tokens = {record.id: record for record in loaded}
        for token_id, mine in self._tokens.items():
            found = tokens.get(token_id)
            if found is None or (mine.revoked and not found.revoked):
                tokens[token_id] = mine
        self._tokens = tokens
        self._version = _version(loaded)
        self._read_at = max(self._read_at, began)

    def close(self) -> None:
        self._records.close()
