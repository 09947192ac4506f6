"""Studio answers input prompts (docs/studio/README.md, "Answering inputs").

A real server and agent run the workflows of tests/support/repos/studio_inputs.py,
which wait on ``cf.Prompt``. The tests answer them as a person would: a form whose
invalid value is refused in place before anything is sent, then sent fixed, and the
run completes with the answer; an approval given from the run page, and one
dismissed from the step panel, whose run then fails with ``InputDismissed``; and,
on a server that requires tokens, a read-only token shown the prompt without the
controls, a writable one answering it, recorded as that token.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Request, expect

from tests.support import browser as browsers
from tests.support.browser import screenshot
from tests.support.cluster import REPOS, Cluster, Server

expect.set_options(timeout=15_000)

REPOSITORY = REPOS / "studio_inputs.py"


@pytest.fixture(scope="module")
def cluster(studio: Cluster) -> Cluster:
    """The module's server, with an agent for the inputs repository too."""
    studio.start_agent(REPOSITORY, args=["--concurrency", "8"])
    return studio


ADMIN = "admin-" + secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A server that requires tokens, with project 'test' and an agent for the prompts."""
    browsers.check_prerequisites()
    workdir = tmp_path_factory.mktemp("inputs-tokens")
    cluster = Cluster(Server(workdir / "data", tokens=[ADMIN]).start(), workdir)
    admin = cluster.env(COFLUX_TOKEN=ADMIN)
    try:
        for command in (("projects", "create", "test"), ("environments", "create", "production")):
            done = cluster.cli(*command, env=admin)
            assert done.returncode == 0, done.stderr
        cluster.start_agent(REPOSITORY, env={"COFLUX_TOKEN": ADMIN})
        yield cluster
    finally:
        cluster.stop()


def submit(cluster: Cluster, target: str, *arguments: object, token: str | None = None) -> str:
    response = cluster.api(
        "POST",
        "/api/projects/test/runs",
        headers={"Authorization": f"Bearer {token}"} if token else {},
        json={
            "environment": "production",
            "repository": "studio_inputs",
            "target": target,
            "arguments": [{"format": "json", "data": a} for a in arguments],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


def run_url(cluster: Cluster, run_id: str, step: int | None = None) -> str:
    url = f"{cluster.server.url}/projects/test/environments/production/runs/{run_id}"
    return url + (f"/steps/{step}" if step is not None else "")


def answers_sent(page: Page) -> list[str]:
    """The URLs of the respond and dismiss requests the page sends from now on."""
    sent: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST" and re.search(r"/inputs/[^/]+/(respond|dismiss)$", request.url):
            sent.append(request.url)

    page.on("request", record)
    return sent


def test_a_form_refuses_an_invalid_answer_in_place_then_sends_the_fixed_one(
    cluster: Cluster, page: Page
) -> None:
    run_id = submit(cluster, "annotate", "Ada", "Shipping was slow but the product is great.")
    sent = answers_sent(page)
    page.goto(f"{cluster.server.url}/projects/test/environments/production")

    # The environment lists the waiting prompt; Respond… opens it.
    pending = page.get_by_test_id("pending-inputs")
    row = pending.locator(".input-row", has_text="Label feedback")
    expect(row).to_be_visible()
    expect(row.locator(".input-row-summary")).to_have_text("Label this feedback")
    row.get_by_role("button", name="Respond…").click()
    dialog = page.get_by_role("dialog", name="Label feedback")
    card = dialog.locator(".input-card")
    # The template as Markdown, its values in it: inline, and a block of its own.
    expect(card.locator(".input-prompt h4")).to_have_text("Label this feedback")
    expect(card.locator(".input-prompt strong")).to_have_text("Ada")
    expect(card.locator(".input-block pre")).to_have_text(
        "Shipping was slow but the product is great."
    )

    # The form: prefilled from initial; an out-of-range value is refused in place.
    sentiment = dialog.get_by_label("Sentiment")
    expect(sentiment).to_have_value("1")  # "neutral", the prompt's initial
    sentiment.select_option(label="positive")
    confidence = dialog.get_by_label("Confidence")
    confidence.fill("9")
    confidence.blur()
    error = dialog.locator('[data-path="confidence"] .field-error')
    expect(error).to_have_text("Must be at most 5.")
    dialog.get_by_role("button", name="Submit").click()
    expect(confidence).to_be_focused()
    expect(confidence).to_have_attribute("aria-invalid", "true")
    assert sent == []

    # Fixed, it is sent once, and the dialog says who answered.
    confidence.fill("4")
    expect(error).to_have_count(0)
    dialog.get_by_label("Notes").fill("fast refund")
    screenshot(page, "input-form")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_test_id("input-outcome")).to_contain_text("Answered by anonymous")
    assert len(sent) == 1
    # Answered, it leaves the pending list.
    expect(pending.locator(".input-row", has_text="Label feedback")).to_have_count(0)
    dialog.get_by_role("button", name="Done").click()

    # The run completes with the answer, and the step panel shows who answered.
    page.goto(run_url(cluster, run_id, 1))
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "succeeded")
    panel = page.get_by_role("complementary", name="annotate")
    expect(panel.get_by_test_id("step-result")).to_have_text('"positive 4 fast refund"')
    inputs = panel.get_by_test_id("step-inputs")
    expect(inputs.locator(".input-card")).to_have_attribute("data-status", "responded")
    expect(inputs.get_by_test_id("input-outcome")).to_contain_text("Answered by anonymous")
    expect(inputs.get_by_label("Answer")).to_contain_text('"confidence": 4')


def test_an_approval_is_given_on_the_run_page_and_another_dismissed_from_its_step(
    cluster: Cluster, page: Page
) -> None:
    approved = submit(cluster, "deploy", "api")
    dismissed = submit(cluster, "deploy", "billing")

    # On the run page, the band of waiting inputs: approve with the prompt's own label.
    page.goto(run_url(cluster, approved))
    band = page.get_by_test_id("pending-inputs")
    row = band.locator(".input-row", has_text="Deployment")
    expect(row.locator(".input-row-summary")).to_have_text("Deploy api to production?")
    expect(row.get_by_role("link")).to_have_text("deploy #1")
    row.get_by_role("button", name="Respond…").click()
    dialog = page.get_by_role("dialog", name="Deployment")
    expect(dialog.locator(".input-prompt code")).to_have_text("api")
    dialog.get_by_role("button", name="Deploy").click()
    expect(dialog.get_by_test_id("input-outcome")).to_contain_text("Answered “Deploy” by anonymous")
    dialog.get_by_role("button", name="Done").click()
    expect(band).to_have_count(0)
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "succeeded")

    # The other run's step panel holds its prompt; Hold dismisses it and the run fails.
    page.goto(run_url(cluster, dismissed, 1))
    panel = page.get_by_role("complementary", name="deploy")
    card = panel.get_by_test_id("step-inputs").locator(".input-card")
    expect(card).to_have_attribute("data-status", "pending")
    screenshot(page, "step-input")
    card.get_by_role("button", name="Hold").click()
    page.get_by_role("alertdialog", name="Hold?").get_by_role("button", name="Yes, hold").click()
    expect(card).to_have_attribute("data-status", "dismissed")
    expect(card.get_by_test_id("input-outcome")).to_contain_text("Dismissed by anonymous")
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "failed")
    expect(panel.get_by_role("group", name="Error")).to_contain_text("InputDismissed")


def create_token(cluster: Cluster, *options: str) -> tuple[str, str]:
    """A project token for 'test' (``options``: e.g. --read-only): the token and its id."""
    created = cluster.cli(
        "tokens", "create", "--project", "test", *options, env=cluster.env(COFLUX_TOKEN=ADMIN)
    )
    assert created.returncode == 0, created.stderr
    token_id = re.search(r"created token (\S+)", created.stderr)
    assert token_id is not None, created.stderr
    return created.stdout.strip(), token_id.group(1)


def test_a_read_only_token_sees_the_prompt_without_the_controls(
    guarded: Cluster, page: Page
) -> None:
    run_id = submit(guarded, "deploy", "search", token=ADMIN)
    reader, _ = create_token(guarded, "--read-only")
    writer, writer_id = create_token(guarded)

    page.goto(run_url(guarded, run_id))
    page.get_by_label("Token").fill(reader)
    page.get_by_role("button", name="Sign in").click()
    row = page.get_by_test_id("pending-inputs").locator(".input-row", has_text="Deployment")
    expect(row.get_by_role("button", name="Respond…")).to_have_count(0)
    row.get_by_role("button", name="View…").click()
    dialog = page.get_by_role("dialog", name="Deployment")
    expect(dialog.locator(".input-read-only")).to_contain_text("yours can only read")
    expect(dialog.get_by_role("button", name="Deploy")).to_have_count(0)
    expect(dialog.get_by_role("button", name="Hold")).to_have_count(0)
    dialog.get_by_role("button", name="Close").click()

    # Signed in with a token that can write, the answer is recorded as that token.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Token").fill(writer)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("pending-inputs").get_by_role("button", name="Respond…").click()
    dialog = page.get_by_role("dialog", name="Deployment")
    dialog.get_by_role("button", name="Deploy").click()
    expect(dialog.get_by_test_id("input-outcome")).to_contain_text(f"by token:{writer_id}")
    expect(page.locator(".run-header [data-state]")).to_have_attribute("data-state", "succeeded")
