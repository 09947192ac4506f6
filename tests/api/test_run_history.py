"""Finding runs through the API: each filter, the cursor, and every bad parameter
refused with a 400 that names it (nothing is changed by a read, so a refusal is
only an answer)."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.api.test_validation import RUN, assert_error, register

RUNS = "/api/projects/demo/runs"


async def submit(api: httpx.AsyncClient, name: str, **extra: object) -> str:
    arguments = [{"format": "json", "data": name}]
    response = await api.post(RUNS, json={**RUN, "arguments": arguments, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


async def listed(api: httpx.AsyncClient, **params: object) -> list[dict[str, object]]:
    response = await api.get(RUNS, params=params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    runs: list[dict[str, object]] = response.json()
    return runs


@pytest.fixture
async def seeded(api: httpx.AsyncClient) -> list[str]:
    """Six runs, oldest first: every other one cancelled, one with a key."""
    await register(api)
    names = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Ada Byron"]
    ids = []
    for index, name in enumerate(names):
        key = {"idempotency_key": "the-key"} if index == 3 else {}
        ids.append(await submit(api, name, **key))
        if index % 2:
            assert (await api.post(f"{RUNS}/{ids[-1]}/cancel")).status_code == 200
    return ids


async def test_filters_and_orders(api: httpx.AsyncClient, seeded: list[str]) -> None:
    newest = seeded[::-1]

    async def ids(**params: object) -> list[object]:
        return [run["id"] for run in await listed(api, **params)]

    assert await ids() == newest
    assert await ids(order="oldest") == seeded
    assert await ids(state="cancelled") == [seeded[5], seeded[3], seeded[1]]
    assert await ids(state=["cancelled", "queued"]) == newest
    assert await ids(state="failed") == []
    assert await ids(environment="production", repository="hello", target="greet") == newest
    assert await ids(target="nope") == []
    assert await ids(idempotency_key="the-key") == [seeded[3]]
    # Text in the arguments as recorded (JSON: a string's quotes are in it), or a run id.
    assert await ids(search="Ada") == [seeded[5], seeded[0]]
    assert await ids(search='"Ada"') == [seeded[0]]
    assert await ids(search=seeded[2]) == [seeded[2]]
    created = [run["created_at"] for run in await listed(api, order="oldest")]
    assert await ids(since=created[2], until=created[4]) == [seeded[3], seeded[2]]


async def test_a_cursor_gives_the_next_page(api: httpx.AsyncClient, seeded: list[str]) -> None:
    seen: list[object] = []
    after: object = None
    while True:
        page = await listed(api, limit=4, **({"after": after} if after else {}))
        seen += [run["id"] for run in page]
        if len(page) < 4:
            break
        after = page[-1]["cursor"]
        # A run submitted meanwhile is newer: on no later page.
        await submit(api, "meanwhile")
    assert seen == seeded[::-1]
    # A cursor is a place: oldest first, the runs after it are the newer ones.
    third = (await listed(api))[2]
    newer = await listed(api, order="oldest", after=third["cursor"])
    assert [run["id"] for run in newer] == [run["id"] for run in (await listed(api))[:2]][::-1]


async def test_an_unknown_environment_is_not_found(api: httpx.AsyncClient) -> None:
    assert_error(await api.get(RUNS, params={"environment": "nope"}), 404, "unknown_environment")


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"state": "bogus"}, "'state'"),
        ({"state": ["queued", "Failed"]}, "'state'"),
        ({"order": "sideways"}, "'order'"),
        ({"since": "yesterday"}, "'since'"),
        ({"since": "-1"}, "'since'"),
        ({"until": "1e20"}, "'until'"),
        ({"until": "nan"}, "'until'"),
        ({"limit": "0"}, "'limit'"),
        ({"limit": "10001"}, "'limit'"),
        ({"limit": "2.5"}, "'limit'"),
        ({"search": "ab"}, "'search'"),
        ({"search": "abc\x00"}, "'search'"),
        ({"search": "x" * 1025}, "'search'"),
        ({"repository": ""}, "'repository'"),
        ({"target": "a\x00b"}, "'target'"),
        ({"idempotency_key": "k" * 1025}, "'idempotency_key'"),
        ({"environment": ""}, "'environment'"),
        ({"after": "not a cursor"}, "'after'"),
        ({"after": _cursor("0x1.9p+30:-4")}, "'after'"),
        ({"after": _cursor("inf:3")}, "'after'"),
        ({"after": _cursor("1700000000")}, "'after'"),
    ],
)  # fmt: skip
async def test_a_bad_parameter_is_refused_naming_it(
    api: httpx.AsyncClient, params: dict[str, object], named: str
) -> None:
    response = await api.get(RUNS, params=params)  # type: ignore[arg-type]
    assert_error(response, 400, "invalid_query")
    assert named in response.json()["error"]["message"]


async def test_the_document_describes_every_parameter(api: httpx.AsyncClient) -> None:
    document = (await api.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/projects/{project}/runs"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
    assert set(parameters) == {
        "environment", "repository", "target", "state", "since", "until",
        "idempotency_key", "search", "order", "after", "limit",
    }  # fmt: skip
    assert "cancelled" in parameters["state"]["items"]["enum"]
    assert parameters["order"]["enum"] == ["newest", "oldest"]
    assert (parameters["limit"]["minimum"], parameters["search"]["minLength"]) == (1, 3)
    listed = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["items"]["$ref"].endswith("/RunListed")
    assert "cursor" in document["components"]["schemas"]["RunListed"]["properties"]
