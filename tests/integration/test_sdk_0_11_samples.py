"""The upstream 0.11 docs' samples (tests/support/repos/upstream_sdk.py), run unchanged
through a real server and agent: option objects, retry filters, errors, logging,
handles, async targets, and the CLI's ways of naming a workflow."""

from __future__ import annotations

import json

from tests.support.cluster import EXAMPLES, REPOS, Cluster
from tests.support.runs import executions, inspect

UPSTREAM = REPOS / "upstream_sdk.py"


def submit(cluster: Cluster, target: str, *arguments: str) -> tuple[str, object]:
    done = cluster.cli("submit", f"upstream_sdk/{target}", *arguments, "--wait")
    assert done.returncode == 0, done.stderr
    run_id = done.stderr.split("run ", 1)[1].split()[0]
    return run_id, json.loads(done.stdout)


def test_retry_filters_retry_what_they_match_and_end_the_rest_at_once(cluster: Cluster) -> None:
    cluster.start_agent(UPSTREAM)
    run_id, result = submit(cluster, "api_failures")
    assert result == [
        "ConnectionError:flaky network:False",
        "KeyError:'missing':True",
        "ServerError:status 404",
    ]
    steps = inspect(cluster, run_id)["steps"]
    attempts = sorted(
        (step["target"], [e["state"] for e in step["executions"]])
        for step in steps
        if step["target"] in ("call_api", "call_status")
    )
    # The ConnectionError is retried 3 times; the KeyError and the 404 are final at once.
    assert attempts == [
        ("call_api", ["failed"]),
        ("call_api", ["failed"] * 4),
        ("call_status", ["failed"]),
    ]


def test_an_error_message_keeps_its_quotes_one_level_up(cluster: Cluster) -> None:
    cluster.start_agent(UPSTREAM)
    done = cluster.cli("submit", "upstream_sdk", "unhandled_key", "--wait")
    assert done.returncode != 0
    assert "KeyError" in done.stderr and "'missing'" in done.stderr
    assert "\"'missing'\"" not in done.stderr and "'\"missing\"'" not in done.stderr


def test_option_objects_cache_and_memo(cluster: Cluster) -> None:
    cluster.start_agent(UPSTREAM)
    run_id, result = submit(cluster, "products")
    assert result == ["1@a", "1@a", "2@c"]
    states = [e["state"] for e in executions(cluster, run_id, "fetch_product")]
    assert sorted(states) == ["cached", "succeeded"]
    run_id, result = submit(cluster, "users")
    assert result == [7, 7, 7]
    fetches = [s for s in inspect(cluster, run_id)["steps"] if s["target"] == "fetch_user"]
    assert len(fetches) == 2  # one memoised for both emails, one with memo overridden off


def test_a_workflows_memo_memoises_every_call_in_its_run(cluster: Cluster) -> None:
    cluster.start_agent(UPSTREAM)
    run_id, result = submit(cluster, "analyse")
    assert result == ["A", "A", "A", "a-stamped", "a-stamped"]
    steps = inspect(cluster, run_id)["steps"]
    counts = {t: sum(1 for s in steps if s["target"] == t) for t in ("look_up", "report", "stamp")}
    assert counts == {"look_up": 1, "report": 1, "stamp": 2}


def test_logging_without_template_and_standard_logging(cluster: Cluster) -> None:
    cluster.start_agent(UPSTREAM)
    run_id, _ = submit(cluster, "logs")
    shown = cluster.cli("runs", "logs", run_id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout
    assert "info  99 bottles of beer on the wall" in lines, lines
    assert "info  event=login user_id=42" in lines, lines
    assert "info  order 12 placed" in lines, lines
    assert "warning  stock low" in lines, lines
    assert "stderr" not in lines, lines


def test_handles_name_their_target_and_poll_with_a_default(cluster: Cluster) -> None:
    cluster.start_agent(UPSTREAM)
    _, result = submit(cluster, "handles")
    assert result == ["upstream_sdk", "fetch_user", {"id": 3}, {"id": 3}]


def test_async_targets_run_on_an_event_loop(cluster: Cluster) -> None:
    cluster.start_agent(UPSTREAM)
    _, result = submit(cluster, "async_flow", "4")
    assert result == 10


def test_submit_accepts_a_script_file_name(cluster: Cluster) -> None:
    cluster.start_agent(EXAMPLES / "hello.py")
    done = cluster.cli("submit", "hello.py", "print_greeting", '"Joe"', "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "Hello, Joe!"
