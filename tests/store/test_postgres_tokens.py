"""Project tokens shared by every server on one PostgreSQL database.

Two catalogs of one database are two servers. A token created through one opens
its project on the other at once; a revocation is refused at once by the server
that made it and by the others once their copy is older than ``max_age`` (a fake
clock moves time on, so nothing here waits for it). Unknown tokens, however many,
cost few reads; a database that cannot be read refuses checks rather than let a
revoked token through.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coflux.errors import NotFound, Unavailable
from coflux.server.tokens import TokenFile, TokenStore, open_token_store
from coflux.store.base import TokenRecord, TokenRecords
from coflux.store.postgres.catalog import PostgresCatalog
from tests.store.facts import T0
from tests.store.test_postgres import database_name, query
from tests.support import postgres


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counted:
    """``TokenRecords`` that count how often they are read."""

    def __init__(self, records: TokenRecords) -> None:
        self._records = records
        self.shared = records.shared
        self.counted = 0  # calls of ``counts``: one per read
        self.loaded = 0  # calls of ``load``: a read that found a change, or a listing

    def load(self) -> list[TokenRecord]:
        self.loaded += 1
        return self._records.load()

    def counts(self) -> tuple[int, int]:
        self.counted += 1
        return self._records.counts()

    def insert(self, record: TokenRecord) -> bool:
        return self._records.insert(record)

    def revoke(self, token_id: str, at: float) -> TokenRecord | None:
        return self._records.revoke(token_id, at)

    def close(self) -> None:
        self._records.close()


@pytest.fixture
def migrated() -> Iterator[str]:
    with postgres.fresh_database(postgres.shared_cluster()) as url:
        yield url


@pytest.fixture
def catalogs(migrated: str) -> Iterator[list[PostgresCatalog]]:
    """Two servers, A and B, on one database holding project p1."""
    servers = [
        PostgresCatalog(migrated, server_id=name, address=f"http://{name}", connect_timeout=1)
        for name in ("A", "B")
    ]
    servers[0].create("p1", "demo", T0).close()
    yield servers
    for catalog in servers:
        catalog.close()


async def test_a_token_created_through_one_server_opens_its_project_on_another_at_once(
    catalogs: list[PostgresCatalog],
) -> None:
    a = TokenStore(catalogs[0].tokens())
    b = TokenStore(catalogs[1].tokens())  # its copy was read before the token existed
    record, token = await a.create("p1", ("dev",), True, "ci")
    assert await b.check(token) == record
    assert [r.id for r in await b.list()] == [record.id]


async def test_a_revocation_is_refused_at_once_where_made_and_within_max_age_elsewhere(
    catalogs: list[PostgresCatalog],
) -> None:
    clock = Clock()
    a = TokenStore(catalogs[0].tokens(), monotonic=clock)
    b = TokenStore(catalogs[1].tokens(), monotonic=clock)
    record, token = await a.create("p1", None, False)
    assert await b.check(token) == record
    await a.revoke(record.id)
    assert await a.check(token) is None
    # B answers from its copy, read less than max_age (1 s) ago...
    clock.now += 0.9
    assert await b.check(token) == record
    # ...and never from one older: it reads the records again first.
    clock.now += 0.2
    assert await b.check(token) is None


async def test_any_server_lists_and_revokes_any_token(catalogs: list[PostgresCatalog]) -> None:
    a = TokenStore(catalogs[0].tokens())
    b = TokenStore(catalogs[1].tokens())
    record, token = await a.create("p1", None, False)
    revoked = await b.revoke(record.id)
    assert revoked is not None and revoked.revoked and revoked.id == record.id
    assert await b.check(token) is None
    # A revoking it again keeps B's time.
    again = await a.revoke(record.id)
    assert again is not None and again.revoked_at == revoked.revoked_at
    assert await a.list() == await b.list() == [revoked]


async def test_a_read_that_finds_nothing_new_loads_nothing(catalogs: list[PostgresCatalog]) -> None:
    clock = Clock()
    records = Counted(catalogs[1].tokens())
    b = TokenStore(records, monotonic=clock)
    record, token = await TokenStore(catalogs[0].tokens()).create("p1", None, False)
    assert await b.check(token) == record  # unknown: read, and loaded
    assert (records.counted, records.loaded) == (1, 2)  # the first load: at opening
    for _ in range(3):
        clock.now += 1.5
        assert await b.check(token) == record
    assert (records.counted, records.loaded) == (4, 2)  # asked how many, loaded nothing


async def test_unknown_tokens_cost_few_reads_however_many_arrive(
    catalogs: list[PostgresCatalog],
) -> None:
    records = Counted(catalogs[1].tokens())
    b = TokenStore(records, spacing=0.05)
    guesses = [f"cfx_{i:012d}_guessed-secret" for i in range(200)]
    # At once: all of them wait for the same read.
    assert await asyncio.gather(*(b.check(g) for g in guesses)) == [None] * 200
    assert records.counted == 1
    # One after another: a read per miss at most every `spacing` seconds.
    began = time.monotonic()
    for guess in guesses[:20]:
        assert await b.check(guess) is None
    elapsed = time.monotonic() - began
    assert 1 < records.counted <= 1 + 1 + elapsed / 0.05
    assert records.loaded == 1  # nothing changed: none was loaded again


async def test_a_database_that_cannot_be_read_refuses_checks_then_serves_again(
    migrated: str, catalogs: list[PostgresCatalog]
) -> None:
    cluster = postgres.shared_cluster()
    database = database_name(migrated)
    clock = Clock()
    b = TokenStore(catalogs[1].tokens(), monotonic=clock)
    record, token = await TokenStore(catalogs[0].tokens()).create("p1", None, False)
    assert await b.check(token) == record
    query(cluster.url(), f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
    query(
        cluster.url(),
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'",
    )
    try:
        clock.now += 1.5  # the copy is too old to answer from
        for checked in (token, "cfx_aaaaaaaaaaaa_unknown-one"):
            with pytest.raises(Unavailable) as refused:
                await b.check(checked)
            assert (refused.value.reason, refused.value.status) == ("database_unavailable", 503)
        with pytest.raises(Unavailable):
            await b.list()
    finally:
        query(cluster.url(), f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")

    async def serves() -> bool:
        try:
            return await b.check(token) == record
        except Unavailable:
            clock.now += 1.5
            return False

    for _ in range(60):  # the pool connects again within its reconnection delay
        if await serves():
            break
    else:
        raise AssertionError("the tokens were not read again once the database was back")


async def test_a_token_for_an_unknown_project_is_refused(catalogs: list[PostgresCatalog]) -> None:
    with pytest.raises(NotFound) as refused:
        await TokenStore(catalogs[0].tokens()).create("p2", None, False)
    assert refused.value.reason == "unknown_project"
    assert catalogs[0].tokens().load() == []


async def test_a_server_moved_onto_the_database_brings_its_tokens(
    catalogs: list[PostgresCatalog], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    before = TokenStore(TokenFile(data_dir / "tokens.sqlite"))  # as it kept them on SQLite
    kept, kept_token = await before.create("p1", None, True, "kept")
    gone, gone_token = await before.create("p1", None, False, "gone")
    revoked = await before.revoke(gone.id)
    await before.create("p9", None, False, "of a project left behind")
    before.close()
    for _ in range(2):  # every start copies them; the second adds nothing
        moved = open_token_store(data_dir, catalogs[0].tokens())
        assert await moved.list() == [kept, revoked]
        moved.close()
    elsewhere = TokenStore(catalogs[1].tokens())
    assert await elsewhere.check(kept_token) == kept
    assert await elsewhere.check(gone_token) is None
