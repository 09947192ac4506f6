"""The CLI's output against a real server: the call tree's previews of arguments
and results (both stores build them), ``--follow`` of a large fan-out in a pipe,
colours and ``NO_COLOR`` in a real pseudo-terminal, and ``--json`` of commands
that change things."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess

from tests.support.cluster import REPOS, Cluster, coflux_command

FLOWS = REPOS / "flows.py"
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def submitted(cluster: Cluster, *args: str) -> str:
    """Submit, wait for the run to end (whatever its outcome) and return its id."""
    done = cluster.cli("submit", "flows", *args, "--wait")
    return done.stderr.split("run ", 1)[1].split()[0]


def tree(cluster: Cluster, run_id: str) -> list[str]:
    shown = cluster.cli("runs", "inspect", run_id)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.splitlines()


def test_inspect_shows_arguments_and_results_one_short_line_each(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    value = {"name": "a fairly long value", "items": list(range(40))}
    lines = tree(cluster, submitted(cluster, "echo", json.dumps(value)))
    shown = json.dumps(value, separators=(",", ":"))[:59] + "…"  # compact JSON, cut
    assert lines[2:] == [f"      arguments: {shown}", f"      result: {shown}"]

    failed = tree(cluster, submitted(cluster, "divide_by_zero", "7"))
    assert failed[2:] == [
        "      arguments: 7",
        "      error: ZeroDivisionError: division by zero",
        failed[4],  # the child step's line
        "        arguments: 7, 0",
        "        error: ZeroDivisionError: division by zero",
    ]
    assert "flows.divide  failed" in failed[4]


def test_a_stored_value_is_previewed_by_its_size(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    lines = tree(cluster, submitted(cluster, "echo", json.dumps("x" * 5000)))
    assert lines[2] == "      arguments: " + json.dumps("x" * 5000)[:59] + "…"
    assert re.fullmatch(r"      result: <blob json, [0-9.]+ KB>", lines[3]), lines[3]


def test_follow_in_a_pipe_summarises_a_large_fan_out(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    width = 150
    done = cluster.cli("submit", "flows", "fan_out", str(width), "--follow", timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == sum(2 * n for n in range(width))
    lines = done.stderr.splitlines()
    # A change is a line up to LINE_LIMIT (50) steps; past it, summaries: far fewer
    # lines than the steps (and their ~3 changes each).
    assert len(lines) < width // 2, done.stderr
    assert any(line.startswith("(more than 50 steps") for line in lines)
    assert lines[-1] == f"{width + 1}/{width + 1} steps finished: {width + 1} succeeded"


def in_terminal(cluster: Cluster, *args: str, **env: str) -> str:
    """What a command writes to a real pseudo-terminal (stdout and stderr both)."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            coflux_command(*args), stdin=terminal, stdout=terminal, stderr=terminal,
            env=cluster.env(COLUMNS="120", **env), cwd=cluster.workdir,
        )  # fmt: skip
        os.close(terminal)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the command has exited and closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(60) == 0, b"".join(chunks)
    finally:
        os.close(controller)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_colours_unless_no_color(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    submitted(cluster, "echo", "1")
    coloured = in_terminal(cluster, "runs", "list", NO_COLOR="")
    assert "\x1b[32msucceeded" in coloured  # green, in a drawn table
    assert "─" in coloured
    plain = in_terminal(cluster, "runs", "list", NO_COLOR="1")
    assert "─" in plain and "succeeded" in plain
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", plain)  # no foreground colour at all


def test_follow_on_a_terminal_ends_with_a_summary(cluster: Cluster) -> None:
    cluster.start_agent(FLOWS)
    shown = COLOUR.sub("", in_terminal(cluster, "submit", "flows", "fan_out", "60", "--follow"))
    assert re.search(r"run \w+: 61/61 steps finished: 61 succeeded", shown), shown


def test_commands_that_change_things_print_json(cluster: Cluster) -> None:
    created = cluster.cli("environments", "create", "staging", "--base", "production", "--json")
    assert created.returncode == 0, created.stderr
    assert {k: json.loads(created.stdout)[k] for k in ("name", "base", "status")} == {
        "name": "staging",
        "base": "production",
        "status": "active",
    }
    paused = json.loads(cluster.cli("environments", "pause", "staging", "--json").stdout)
    assert paused["status"] == "paused"
    assert cluster.cli("register", str(FLOWS)).returncode == 0  # no agent: it stays queued
    run = json.loads(cluster.cli("submit", "flows", "echo", "1", "--json").stdout)
    assert set(run) >= {"run_id", "created"} and run["created"] is True
    cancelled = json.loads(cluster.cli("runs", "cancel", run["run_id"], "--json").stdout)
    assert cancelled == {"cancelled": [f"{run['run_id']}:1:1"]}
