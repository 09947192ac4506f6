"""Contract: project tokens, on each backend. Created for a project, checked in
constant time against their hash, listed oldest first, revoked once and for good,
and kept across a restart.

The tokens are kept where the server keeps them beside its catalog
(``server/tokens.open_token_store``): ``tokens.sqlite`` in the data directory beside
SQLite projects, the database's own tables beside PostgreSQL ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from coflux.server.tokens import TokenStore, open_token_store, split_token
from tests.store.backends import Backend

Opener = Callable[[], TokenStore]


@pytest.fixture
def open_tokens(backend: Backend, tmp_path: Path) -> Opener:
    """Opens the tokens as a server (re)started on the backend would."""
    backend.create("p1", "demo")  # the project the tokens are for
    return lambda: open_token_store(tmp_path / "data", backend.catalog().tokens())


@pytest.fixture
async def tokens(open_tokens: Opener) -> AsyncIterator[TokenStore]:
    store = open_tokens()
    yield store
    store.close()


async def test_a_created_token_opens_its_project_with_its_limits(tokens: TokenStore) -> None:
    record, token = await tokens.create("p1", ("dev", "staging"), True, "ci")
    parts = split_token(token)
    assert parts is not None and parts[0] == record.id
    assert (record.project, record.environments, record.read_only) == (
        "p1",
        ("dev", "staging"),
        True,
    )
    assert record.description == "ci" and not record.revoked
    assert await tokens.check(token) == record
    every, _ = await tokens.create("p1", None, False)
    assert every.environments is None and not every.read_only
    none, none_token = await tokens.create("p1", (), False)
    assert (await tokens.check(none_token)) == none and none.environments == ()


async def test_only_the_exact_token_opens_anything(tokens: TokenStore) -> None:
    record, token = await tokens.create("p1", None, False)
    for wrong in (
        token + "x",
        token[:-1],
        f"cfx_{record.id}_not-its-secret",
        "cfx_aaaaaaaaaaaa_" + token.rsplit("_", 1)[1],  # its secret, an unknown id
        token.removeprefix("cfx_"),
        "",
    ):
        assert await tokens.check(wrong) is None, wrong
    assert await tokens.check(token) == record


async def test_the_records_hold_no_secret(tokens: TokenStore) -> None:
    _, token = await tokens.create("p1", None, False, "kept")
    listed = await tokens.list()
    secret = token.rsplit("_", 1)[1]
    assert secret not in repr(listed) and token not in repr(listed)
    assert [len(r.secret_sha256) for r in listed] == [64]


async def test_a_revoked_token_opens_nothing_and_keeps_its_first_revocation(
    tokens: TokenStore,
) -> None:
    record, token = await tokens.create("p1", None, False)
    kept, kept_token = await tokens.create("p1", None, False)
    revoked = await tokens.revoke(record.id)
    assert revoked is not None and revoked.revoked and revoked.id == record.id
    assert await tokens.check(token) is None
    again = await tokens.revoke(record.id)
    assert again is not None and again.revoked_at == revoked.revoked_at
    assert await tokens.revoke("nosuchtoken0") is None
    assert await tokens.check(kept_token) == kept


async def test_tokens_are_listed_oldest_first_revoked_ones_too(tokens: TokenStore) -> None:
    first, _ = await tokens.create("p1", None, False, "first")
    second, _ = await tokens.create("p1", None, True, "second")
    await tokens.revoke(first.id)
    listed = await tokens.list()
    assert [(r.description, r.revoked) for r in listed] == [("first", True), ("second", False)]
    assert listed[1] == second


async def test_tokens_and_revocations_survive_a_restart(open_tokens: Opener) -> None:
    before = open_tokens()
    kept, kept_token = await before.create("p1", ("dev",), True, "kept")
    gone, gone_token = await before.create("p1", None, False, "gone")
    revoked = await before.revoke(gone.id)
    before.close()
    after = open_tokens()
    try:
        assert await after.check(kept_token) == kept
        assert await after.check(gone_token) is None
        assert await after.list() == [kept, revoked]
    finally:
        after.close()
