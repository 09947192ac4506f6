"""Studio starts runs and sensors from forms drawn from the parameters' annotations
(docs/studio/README.md, "Run… and Start… forms").

A real server and agent host tests/support/repos/studio_forms.py: a workflow taking
a number, a yes/no, a choice, a date and a Pydantic model, and a sensor. The tests
fill the forms as a person would: a wrong value is refused in place and nothing is
sent; fixed, the run starts with the arguments typed in (read back from its result,
which echoes them); a sensor started from its page is listed there, and stopped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from tests.e2e.conftest import studio_server
from tests.support.browser import screenshot
from tests.support.cluster import REPOS, Cluster

expect.set_options(timeout=15_000)

REPOSITORY = REPOS / "studio_forms.py"


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A server with project 'test', environment 'production' and an agent hosting studio_forms."""
    with studio_server(tmp_path_factory, REPOSITORY, concurrency=4) as cluster:
        yield cluster


def target_url(cluster: Cluster, kind: str, target: str) -> str:
    return (
        f"{cluster.server.url}/projects/test/environments/production/{kind}/studio_forms/{target}"
    )


def posts_to(page: Page, suffix: str) -> list[str]:
    """The URLs of the POST requests ending in ``suffix`` the page sends from now on."""
    sent: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith(suffix):
            sent.append(request.url)

    page.on("request", record)
    return sent


def sensors(cluster: Cluster) -> list[dict[str, Any]]:
    listed = cluster.api("GET", "/api/projects/test/sensors", params={"environment": "production"})
    assert listed.status_code == 200, listed.text
    return list(listed.json())


def test_a_run_form_refuses_a_wrong_value_then_starts_the_run_with_its_arguments(
    forms: Cluster, page: Page
) -> None:
    page.goto(target_url(forms, "workflows", "book"))
    page.get_by_role("button", name="Run…").click()
    form = page.get_by_role("dialog", name="Run book")
    runs_sent = posts_to(page, "/api/projects/test/runs")

    nights = form.get_by_label("nights")
    nights.fill("two")
    nights.blur()
    expect(form.locator('[data-path="nights"]')).to_contain_text("Enter a whole number.")
    form.get_by_label("breakfast").check()
    form.get_by_label("room").select_option("double")
    form.get_by_label("arrival").fill("2026-12-03")
    guest = form.get_by_role("group", name="guest")
    guest.get_by_label("Name").fill("Ada")
    guest.get_by_label("Age").fill("36")
    expect(form.get_by_label("note")).to_have_value("none")  # the default, filled in
    form.get_by_role("button", name="Start run").click()
    # Refused in place: the first wrong field has the focus and nothing was sent.
    expect(nights).to_be_focused()
    assert runs_sent == []

    nights.fill("2")
    expect(form.locator(".field-error")).to_have_count(0)
    screenshot(page, "run-form-fields")
    form.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(re.compile(r"/runs/\w+$"))
    assert len(runs_sent) == 1
    run_id = page.url.rsplit("/", 1)[1]
    result = forms.cli("runs", "result", run_id, "--wait")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "nights": 2,
        "breakfast": True,
        "room": "double",
        "arrival": "2026-12-03",
        "guest": {"name": "Ada", "age": 36},
        "note": "none",
    }


def test_a_sensor_is_started_from_its_page_and_stopped_there(forms: Cluster, page: Page) -> None:
    page.goto(target_url(forms, "sensors", "doorbell"))
    running = page.locator("section", has=page.get_by_role("heading", name="Running"))
    expect(running).to_contain_text("No doorbell sensor is running")
    page.get_by_role("button", name="Start…").click()
    form = page.get_by_role("dialog", name="Start doorbell")
    form.get_by_role("button", name="Start sensor").click()
    expect(form.locator('[data-path="door"]')).to_contain_text("Choose one.")
    form.get_by_role("combobox", name=re.compile(r"^door\b")).select_option("back")
    form.get_by_role("button", name="Start sensor").click()
    expect(form).to_have_count(0)

    table = page.get_by_role("table", name="Running doorbell sensors")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and the sensor
    [sensor] = sensors(forms)
    assert sensor["target"] == "doorbell"
    assert [a["data"] for a in sensor["arguments"]] == ["back"]
    expect(table).to_contain_text(str(sensor["id"]))
    screenshot(page, "sensor-running")

    page.get_by_role("button", name=f"Stop sensor {sensor['id']}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Yes, stop the sensor").click()
    expect(table).to_have_count(0)
    assert sensors(forms) == []
    inspected = json.loads(forms.cli("runs", "inspect", str(sensor["id"]), "--json").stdout)
    assert inspected["steps"][0]["executions"][-1]["state"] == "cancelled"
