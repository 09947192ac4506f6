"""Several servers on one PostgreSQL database: each project has one writer at a time.

Two catalogs with different server ids are two servers (``store/postgres/leases.py``).
A server that lost a project's lease, by a takeover after its lease expired (as when
it paused for longer than the lease time), commits nothing more for the project.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coflux.errors import ProjectOwnedElsewhere
from coflux.store.postgres import leases
from coflux.store.postgres.catalog import PostgresCatalog
from tests.store.facts import T0, busy_run, environment, finished_run, register
from tests.store.test_postgres import query
from tests.support import postgres
from tests.support.eventually import eventually


@pytest.fixture
def migrated() -> Iterator[str]:
    with postgres.fresh_database(postgres.shared_cluster()) as url:
        yield url


@pytest.fixture
def servers(migrated: str) -> Iterator[list[PostgresCatalog]]:
    """Two servers, A and B, sharing the database."""
    catalogs = [
        PostgresCatalog(migrated, server_id=name, address=f"http://{name}:7777")
        for name in ("A", "B")
    ]
    yield catalogs
    for catalog in catalogs:
        catalog.close()


def expire(url: str, project_id: str = "p1") -> None:
    """End the project's lease, as its owner pausing past the lease time would."""
    query(url, f"UPDATE project_leases SET expires_at = now() WHERE project_id = '{project_id}'")


def runs(url: str) -> int:
    return int(query(url, "SELECT count(*) FROM runs")[0][0])  # type: ignore[call-overload]


def test_the_server_that_creates_a_project_owns_it_and_no_other_can_take_it(
    servers: list[PostgresCatalog],
) -> None:
    a, b = servers
    store = a.create("p1", "demo", T0)
    assert store.epoch == 1
    store.append(finished_run())
    with pytest.raises(ProjectOwnedElsewhere, match="server A at http://A:7777 holds its lease"):
        b.open("p1").take_ownership()
    lease = b.leases.owner("p1")
    assert lease is not None and (lease.owner, lease.epoch, lease.live) == ("A", 1, True)


def test_a_server_that_lost_its_lease_commits_nothing_more(
    migrated: str, servers: list[PostgresCatalog]
) -> None:
    a, b = servers
    old = a.create("p1", "demo", T0)
    old.append([environment()])
    expire(migrated)
    new = b.open("p1")
    new.take_ownership()
    assert new.epoch == 2  # every acquisition is a new epoch
    # A does not know yet: the database refuses its batches, registrations included.
    for batch in (busy_run(), [register("flows", "main")]):
        old.epoch = 1  # as it still believes
        with pytest.raises(ProjectOwnedElsewhere, match="another server acquired it"):
            old.append(batch)
    assert runs(migrated) == 0
    assert old.epoch is None
    with pytest.raises(ProjectOwnedElsewhere, match="its lease here ran out"):
        old.append(finished_run())  # without asking the database again
    new.append(finished_run())
    assert runs(migrated) == 1


def test_the_heartbeat_renews_what_a_server_holds_and_tells_it_what_it_lost(
    migrated: str,
) -> None:
    a = PostgresCatalog(migrated, server_id="A", address="http://A", lease_ttl=0.6)
    b = PostgresCatalog(migrated, server_id="B", address="http://B", lease_ttl=0.6)
    try:
        kept = a.create("p1", "demo", T0)
        lost = a.create("p2", "other", T0)
        assert a.leases.heartbeat() == {"p1": 1, "p2": 1}
        expire(migrated, "p2")
        taken = b.open("p2")
        taken.take_ownership()
        eventually(lambda: lost.epoch is None, 10, message="A hears it lost p2")
        assert kept.epoch == 1  # renewed by the heartbeats meanwhile (several lease times)
        kept.append([environment()])
        taken.append([environment()])
        assert {s.id: s.live for s in a.leases.servers()} == {"A": True, "B": True}
    finally:
        a.close()
        b.close()


def test_a_lease_acquired_while_the_heartbeat_runs_is_not_taken_for_lost(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = PostgresCatalog(migrated, server_id="A", address="http://A", lease_ttl=0.6)
    try:
        catalog.create("p1", "demo", T0).close()  # released: free to acquire again
        store = catalog.open("p1")
        renew = catalog.leases.heartbeat
        beats: list[int] = []

        def renewing_while_it_is_acquired() -> dict[str, int]:
            held = renew()  # what the renewal saw: not the lease acquired just after
            if not beats:
                store.take_ownership()
            beats.append(len(held))
            return held

        monkeypatch.setattr(catalog.leases, "heartbeat", renewing_while_it_is_acquired)
        eventually(lambda: len(beats) >= 2, 10, message="two heartbeats")
        assert store.epoch is not None  # not told it lost what it had just acquired
        store.append([environment()])
    finally:
        catalog.close()


def test_a_project_handed_over_is_not_taken_back_before_its_server_takes_it(
    servers: list[PostgresCatalog],
) -> None:
    a, b = servers
    project = next(
        f"p{i}" for i in range(100) if leases.preferred_server(f"p{i}", ["A", "B"]) == "B"
    )
    handed = a.create(project, "demo", T0)
    assert a.placement(serving={project}).hand_over == [project]
    handed.release()  # A hands it over: its lease ends, still naming A
    assert project not in a.placement(serving=set()).take  # no bounce back to A
    assert project in b.placement(serving=set()).take


def test_the_placement_says_when_another_servers_lease_runs_out(
    migrated: str, servers: list[PostgresCatalog]
) -> None:
    a, b = servers
    assert b.placement(serving=set()).next_expiry is None  # no leases yet
    a.create("p1", "demo", T0)
    # A's own lease is not one A waits for; B sees it run out within the lease time.
    assert a.placement(serving={"p1"}).next_expiry is None
    remaining = b.placement(serving=set()).next_expiry
    assert remaining is not None and 0 < remaining <= a.leases.ttl
    query(
        migrated,
        "UPDATE project_leases SET expires_at = now() + interval '0.4 seconds'"
        " WHERE project_id = 'p1'",
    )  # A stopped renewing it (killed) 0.4 s before it runs out
    soon = b.placement(serving=set()).next_expiry
    assert soon is not None and 0 < soon <= 0.4
    expire(migrated)
    placement = b.placement(serving=set())
    assert placement.next_expiry is None and "p1" in placement.take


def test_a_graceful_stop_hands_the_projects_over_at_once(
    migrated: str, servers: list[PostgresCatalog]
) -> None:
    a, b = servers
    a.create("p1", "demo", T0)
    a.close()
    store = b.open("p1")
    store.take_ownership()
    assert store.epoch == 2
    assert [s.id for s in b.leases.servers()] == ["B"]  # A left the servers' table


def test_a_restarted_server_takes_its_own_leases_back_at_once(migrated: str) -> None:
    first = PostgresCatalog(migrated, server_id="A")
    try:
        before = first.create("p1", "demo", T0)
        # Killed: nothing released. The same server id (its data directory) starts again.
        again = PostgresCatalog(migrated, server_id="A")
        try:
            after = again.open("p1")
            after.take_ownership()
            assert after.epoch == 2
            with pytest.raises(ProjectOwnedElsewhere):
                before.append([environment()])  # the old process's epoch is stale
            after.append([environment()])
        finally:
            again.close()
    finally:
        first.close()


def test_a_server_keeps_its_id_in_its_data_directory(tmp_path: Path) -> None:
    first = leases.server_id(tmp_path / "data")
    assert first == leases.server_id(tmp_path / "data")
    assert first != leases.server_id(tmp_path / "other")
    assert (tmp_path / "data" / leases.SERVER_ID_FILE).read_text().strip() == first
