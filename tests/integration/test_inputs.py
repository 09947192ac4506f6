"""Inputs (``cf.Prompt``) through a real server, agent and CLI: asked by workflows,
listed and answered with ``coflux inputs`` and the API, refused when an answer does
not fit (nothing changed), dismissed (``InputDismissed`` reaches the code), kept
pending across a server restart, waited for inside ``cf.suspense`` by suspending,
and the upstream docs' samples (tests/support/repos/upstream_inputs*.py) run."""

from __future__ import annotations

import json
from typing import Any

from tests.support.cluster import REPOS, Cluster
from tests.support.eventually import eventually
from tests.support.runs import inspect

INPUTS = REPOS / "upstream_inputs.py"
SUSPENDING = REPOS / "upstream_inputs_suspense.py"
API = "/api/projects/test/inputs"


def start(
    cluster: Cluster, target: str, *arguments: str, repository: str = "upstream_inputs"
) -> str:
    started = cluster.cli("submit", repository, target, *arguments)
    assert started.returncode == 0, started.stderr
    return started.stdout.strip()


def finish(cluster: Cluster, run_id: str) -> Any:
    done = cluster.cli("runs", "result", run_id, "--wait")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def asked(cluster: Cluster, run_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The run's pending inputs, once it has ``count`` of them (newest first)."""

    def pending() -> list[dict[str, Any]] | None:
        response = cluster.api("GET", API, params={"run": run_id})
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["inputs"]
        return found if len(found) >= count else None

    return eventually(pending, 30, message=f"run {run_id} to ask for {count} input(s)")


def respond(cluster: Cluster, input_id: str, value: Any) -> Any:
    return cluster.api("POST", f"{API}/{input_id}/respond", json={"value": value})


def test_an_approval_listed_shown_and_answered_with_the_cli(cluster: Cluster) -> None:
    cluster.start_agent(INPUTS)
    run_id = start(cluster, "deploy", '"api"')
    [prompt] = asked(cluster, run_id)
    assert (prompt["status"], prompt["title"], prompt["schema"]) == ("pending", "Deployment", None)
    assert prompt["template"] == "Approve deployment of {service}?"
    assert prompt["placeholders"]["service"]["data"] == "api"
    assert prompt["environment"] == "production"

    listed = cluster.cli("inputs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [i["id"] for i in json.loads(listed.stdout)] == [prompt["id"]]
    table = cluster.cli("inputs", "list")
    assert prompt["id"] in table.stdout and "Deployment" in table.stdout
    shown = cluster.cli("inputs", "show", prompt["id"])
    assert shown.returncode == 0, shown.stderr
    assert "Approve deployment of api?" in shown.stdout
    assert "takes: an approval (no value)" in shown.stdout

    answered = cluster.cli("inputs", "respond", prompt["id"], "null")
    assert answered.returncode == 0, answered.stderr
    assert finish(cluster, run_id) is None
    deployed = [s for s in inspect(cluster, run_id)["steps"] if s["target"] == "do_deploy"]
    assert [s["executions"][-1]["state"] for s in deployed] == ["succeeded"]

    settled = json.loads(cluster.cli("inputs", "show", prompt["id"], "--json").stdout)
    assert (settled["status"], settled["responded_by"]) == ("responded", "anonymous")
    assert settled["responded_at"] >= settled["created_at"]
    # Answered once: again is refused, in one line, and changes nothing.
    again = cluster.cli("inputs", "respond", prompt["id"], "null")
    assert again.returncode != 0
    assert again.stderr.strip().count("\n") == 0 and "already" in again.stderr
    pending = json.loads(cluster.cli("inputs", "list", "--json").stdout)
    assert pending == []
    everything = json.loads(cluster.cli("inputs", "list", "--status", "all", "--json").stdout)
    assert [i["id"] for i in everything] == [prompt["id"]]


def test_a_model_prompt_refuses_an_answer_that_does_not_fit_and_returns_an_instance(
    cluster: Cluster,
) -> None:
    cluster.start_agent(INPUTS)
    run_id = start(cluster, "labelled", '"Great product"')
    [prompt] = asked(cluster, run_id)
    assert prompt["schema"]["required"] == ["sentiment", "topic", "confidence"]
    bad = respond(
        cluster, prompt["id"], {"sentiment": "positive", "topic": "product", "confidence": 9}
    )
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"]["reason"] == "invalid_input"
    assert "confidence" in bad.json()["error"]["message"]
    missing = respond(cluster, prompt["id"], {"sentiment": "positive"})
    assert missing.status_code == 400 and "'topic' is a required property" in missing.text
    # Nothing changed: still pending, and the workflow still waits.
    assert cluster.api("GET", f"{API}/{prompt['id']}").json()["status"] == "pending"
    via_cli = cluster.cli("inputs", "respond", prompt["id"], "not json")
    assert via_cli.returncode != 0 and "not valid JSON" in via_cli.stderr

    good = respond(
        cluster, prompt["id"], {"sentiment": "positive", "topic": "product", "confidence": 4}
    )
    assert good.status_code == 200, good.text
    assert good.json()["response"] == {"sentiment": "positive", "topic": "product", "confidence": 4}
    assert finish(cluster, run_id) == ["Label", "positive", 4, None]
    again = respond(
        cluster, prompt["id"], {"sentiment": "negative", "topic": "other", "confidence": 1}
    )
    assert again.status_code == 409 and again.json()["error"]["reason"] == "input_settled"
    assert cluster.api("GET", f"{API}/nope.nope").status_code == 404


def test_a_dismissal_reaches_the_code_as_input_dismissed(cluster: Cluster) -> None:
    cluster.start_agent(INPUTS)
    caught = start(cluster, "guarded", '"api"')
    [prompt] = asked(cluster, caught)
    assert prompt["actions"] == ["Ship", "Hold"]
    dismissed = cluster.cli("inputs", "dismiss", prompt["id"])
    assert dismissed.returncode == 0, dismissed.stderr
    assert finish(cluster, caught) == f"dismissed: input {prompt['id']} was dismissed"
    shown = cluster.api("GET", f"{API}/{prompt['id']}").json()
    assert (shown["status"], shown["response"]) == ("dismissed", None)
    assert cluster.api("POST", f"{API}/{prompt['id']}/dismiss").status_code == 409

    # Uncaught, it fails the workflow with its type.
    failing = start(cluster, "deploy", '"db"')
    [prompt] = asked(cluster, failing)
    assert cluster.api("POST", f"{API}/{prompt['id']}/dismiss").status_code == 200
    done = cluster.cli("runs", "result", failing, "--wait")
    assert done.returncode != 0 and "InputDismissed" in done.stderr


def test_a_pending_input_survives_a_server_restart_and_is_then_answered(cluster: Cluster) -> None:
    agent = cluster.start_agent(INPUTS)
    run_id = start(cluster, "labelled", '"Slow shipping"')
    [prompt] = asked(cluster, run_id)
    cluster.server.stop()
    cluster.server.start()
    cluster.wait_connected(agent, times=2)
    [after] = asked(cluster, run_id)
    assert after == prompt
    answer = {"sentiment": "negative", "topic": "shipping", "confidence": 2, "notes": "late"}
    assert respond(cluster, prompt["id"], answer).status_code == 200
    assert finish(cluster, run_id) == ["Label", "negative", 2, "late"]


def test_waiting_inside_suspense_suspends_until_the_input_is_answered(cluster: Cluster) -> None:
    cluster.start_agent(SUSPENDING)
    run_id = start(cluster, "annotate", '"s1"', '"Love it"', repository="upstream_inputs_suspense")
    [prompt] = asked(cluster, run_id)

    def root_states() -> list[str] | None:
        root = next(s for s in inspect(cluster, run_id)["steps"] if s["parent_execution"] is None)
        found = [e["state"] for e in root["executions"]]
        return found if found[:1] == ["suspended"] else None

    suspended = eventually(root_states, 30, message="the workflow to suspend")
    assert suspended == ["suspended", "queued"]  # held back until the input is answered
    answer = {"sentiment": "positive", "topic": "product", "confidence": 5}
    assert respond(cluster, prompt["id"], answer).status_code == 200
    assert finish(cluster, run_id) is None
    steps = inspect(cluster, run_id)["steps"]
    root = next(s for s in steps if s["parent_execution"] is None)
    assert [e["state"] for e in root["executions"]] == ["suspended", "succeeded"]
    stored = [s for s in steps if s["target"] == "store"]
    assert len(stored) == 1
    # The re-run asked again: the same input, not a second one.
    everything = cluster.api("GET", API, params={"run": run_id, "status": "all"}).json()["inputs"]
    assert [i["id"] for i in everything] == [prompt["id"]]


def test_the_upstream_docs_samples_run(cluster: Cluster) -> None:
    cluster.start_agent(INPUTS)
    label = {"sentiment": "neutral", "topic": "support", "confidence": 3}

    run_id = start(cluster, "templates_and_placeholders")
    [prompt] = asked(cluster, run_id)
    assert "## Summarise {meeting}" in prompt["template"] and "{{transcript}}" in prompt["template"]
    assert prompt["placeholders"]["meeting"]["data"] == "Weekly sync"
    assert respond(cluster, prompt["id"], {"summary": "fine"}).status_code == 200
    assert finish(cluster, run_id) is None

    run_id = start(cluster, "annotate", '"s9"', '"Meh"')
    [prompt] = asked(cluster, run_id)
    assert respond(cluster, prompt["id"], label).status_code == 200
    finish(cluster, run_id)
    stored = [s for s in inspect(cluster, run_id)["steps"] if s["target"] == "store"]
    assert [s["executions"][-1]["state"] for s in stored] == ["succeeded"]

    run_id = start(cluster, "submitting_without_blocking")
    [prompt] = asked(cluster, run_id)
    assert respond(cluster, prompt["id"], label).status_code == 200
    assert finish(cluster, run_id) is None

    # Polling without an answer: the workflow goes on, the input stays pending.
    run_id = start(cluster, "polling", '"Quick delivery"')
    assert finish(cluster, run_id) is None
    logs = cluster.cli("runs", "logs", run_id)
    assert "Still waiting for a label" in logs.stdout, logs.stdout
    everything = cluster.api("GET", API, params={"run": run_id, "status": "all"}).json()["inputs"]
    assert [i["status"] for i in everything] == ["pending"]

    run_id = start(cluster, "memoisation", '"7"', '"Broken box"')
    assert finish(cluster, run_id) is None
    [prompt] = asked(cluster, run_id)
    assert prompt["key"] == "sample-7" and "requested_at" in prompt["placeholders"]

    run_id = start(cluster, "routing", '"billing"')
    [prompt] = asked(cluster, run_id)
    assert prompt["requires"] == {"role": ["release-manager"]}
    assert respond(cluster, prompt["id"], None).status_code == 200
    assert finish(cluster, run_id) is None

    run_id = start(cluster, "customising", '"Nice"')
    assert finish(cluster, run_id) is None
    [prompt] = asked(cluster, run_id)
    assert prompt["initial"] == {
        "sentiment": "positive", "topic": "product", "confidence": 4, "notes": None,
    }  # fmt: skip

    # Beyond the page: one key, one input; primitive models come back typed.
    run_id = start(cluster, "keyed_twice", '"x"')
    [prompt] = asked(cluster, run_id)
    assert respond(cluster, prompt["id"], label).status_code == 200
    assert finish(cluster, run_id) == [True, True, "support"]
    run_id = start(cluster, "primitives", '"the launch"')
    [day] = asked(cluster, run_id)
    assert day["schema"] == {"type": "string", "format": "date"}
    assert respond(cluster, day["id"], "2026-12-24").status_code == 200
    [number] = asked(cluster, run_id)  # asked once the date is answered
    assert respond(cluster, number["id"], "three").status_code == 400
    assert respond(cluster, number["id"], 3).status_code == 200
    assert finish(cluster, run_id) == ["date", "2026-12-24", 4]
