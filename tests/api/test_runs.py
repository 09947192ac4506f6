"""A run read through the API: its full view and its outline agree."""

from __future__ import annotations

import json

import httpx

from tests.api.test_validation import RUN, register

VALUES = {"arguments", "options", "outcome", "transitions"}


def without_values(data: object) -> object:
    """``data`` with every key of ``VALUES`` removed, at any depth."""
    if isinstance(data, dict):
        return {k: without_values(v) for k, v in data.items() if k not in VALUES}
    if isinstance(data, list):
        return [without_values(item) for item in data]
    return data


async def test_a_run_outline_is_its_view_without_values(api: httpx.AsyncClient) -> None:
    await register(api)
    run_id = (await api.post("/api/projects/demo/runs", json=RUN)).json()["run_id"]
    view = (await api.get(f"/api/projects/demo/runs/{run_id}")).json()
    outline = await api.get(f"/api/projects/demo/runs/{run_id}/outline")
    assert outline.status_code == 200
    expected = without_values(view)
    for step in expected["steps"]:  # type: ignore[index]
        if step.get("group") is None:
            del step["group"]  # an outline's steps omit their defaults
    assert outline.json() == expected
    (step,) = outline.json()["steps"]
    assert (step["target"], step["executions"][0]["state"]) == ("greet", "queued")
    assert "arguments" in view["steps"][0]  # the full view does have them
    assert "argument_previews" not in step  # previews only when asked for


async def test_a_run_outline_has_previews_of_its_values_when_asked(api: httpx.AsyncClient) -> None:
    await register(api)
    run_id = (await api.post("/api/projects/demo/runs", json=RUN)).json()["run_id"]
    outline = await api.get(f"/api/projects/demo/runs/{run_id}/outline", params={"previews": "1"})
    assert outline.status_code == 200
    arguments = [a["data"] for a in RUN["arguments"]]  # type: ignore[index]
    (step,) = outline.json()["steps"]
    assert step["argument_previews"] == [json.dumps(a, separators=(",", ":")) for a in arguments]
    refused = await api.get(f"/api/projects/demo/runs/{run_id}/outline", params={"previews": "yes"})
    assert refused.status_code == 400 and refused.json()["error"]["reason"] == "invalid_query"
