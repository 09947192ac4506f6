"""docs/tutorial.md, followed as written: its commands run in order against a real
server and agents, and each prints what the page shows.

The page is the script, so the two cannot drift apart:

- a ```console block holds commands (``$ `` lines), each followed by the output
  the page shows for it;
- a ```python block titled ``title="NAME"`` is a file the reader saves (it must be
  ``examples/tutorial/NAME`` too);
- a ```diff block is an edit of a file the reader copied; it must be the diff from
  that copy to ``examples/tutorial/<its path>``, which then stands for the edit.

Commands run in the order of the page, in bash, with ``coflux`` on the PATH
(this interpreter's), except three: ``coflux server`` is the fixture's server (on a
free port, on each storage backend), ``coflux agent ...`` starts in the background
(its shown lines are waited for, in order), and ``cd`` moves the working directory.
A command whose shown output has an ``error:`` line must fail; every other must
succeed.

Output is compared line by line once what changes from one reading to the next is
normalised: dates, times, durations, ``localhost:PORT``, absolute paths, the
caret lines under a traceback's source line (they differ between Python versions)
and the width of the gaps between columns. An id the page shows (a lowercase
token of 8 to 16 letters and digits, with a digit) matches any token of its length
in the same place; the first match binds it, later lines must agree, and later
commands get the real id in its place.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.cluster import EXAMPLES, Cluster, Process, base_env, coflux_command
from tests.support.eventually import eventually

TUTORIAL = Path(__file__).parents[2] / "docs" / "tutorial.md"
SOURCES = EXAMPLES / "tutorial"

FENCE = re.compile(r"```(\w*)(.*)")
TITLE = re.compile(r'title="([^"]+)"')


@dataclass(frozen=True)
class Command:
    line: str
    output: tuple[str, ...]


@dataclass(frozen=True)
class SavedFile:
    name: str
    text: str


@dataclass(frozen=True)
class Edit:
    diff: str


Step = Command | SavedFile | Edit


def fenced_blocks(markdown: str) -> Iterator[tuple[str, str, list[str]]]:
    """(language, info after it, lines) of each fenced block, in order."""
    lines = iter(markdown.splitlines())
    for line in lines:
        opening = FENCE.fullmatch(line)
        if opening is None:
            continue
        body: list[str] = []
        for inner in lines:
            if inner == "```":
                break
            body.append(inner)
        yield opening[1], opening[2], body


def commands(body: Sequence[str]) -> Iterator[Command]:
    starts = [i for i, line in enumerate(body) if line.startswith("$ ")]
    assert starts and starts[0] == 0, f"a console block starts with a command: {body}"
    for start, end in zip(starts, [*starts[1:], len(body)], strict=True):
        yield Command(body[start][2:], tuple(body[start + 1 : end]))


def tutorial_steps(markdown: str) -> list[Step]:
    """The page's steps, in order; any other kind of block would go untested."""
    steps: list[Step] = []
    for language, info, body in fenced_blocks(markdown):
        if language == "console":
            steps.extend(commands(body))
        elif language == "python" and (title := TITLE.search(info)) is not None:
            steps.append(SavedFile(title[1], "\n".join(body) + "\n"))
        elif language == "diff":
            steps.append(Edit("\n".join(body) + "\n"))
        else:
            raise AssertionError(f"a ```{language}{info} block that no test follows")
    return steps


NORMALISE = [
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?"), "<datetime>"),
    (re.compile(r"(?<!\d)\d{2}:\d{2}:\d{2}(?:\.\d+)?"), "<time>"),
    (re.compile(r"(?:localhost|127\.0\.0\.1):\d+"), "<host>"),
    (re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:ms|s)\b|\b(?:\d+h)?\d+m\d{2}s\b"), "<duration>"),
    (re.compile(r"(?<![\w.:/>])/[^\s\"',)]+"), "<path>"),
]
CARETS = re.compile(r"\s*[\^~]+\s*")
TOKEN = re.compile(r"\w+|\S")
PAGE_ID = re.compile(r"(?=[0-9a-z]*\d)[0-9a-z]{8,16}")
REAL_ID = re.compile(r"[0-9a-z]{8,16}")


def shown(lines: Sequence[str]) -> list[str]:
    """Lines as compared: normalised, caret lines and trailing blank lines dropped."""
    kept = []
    for line in lines:
        if CARETS.fullmatch(line):
            continue
        for pattern, replacement in NORMALISE:
            line = pattern.sub(replacement, line)
        kept.append(" ".join(line.split()))
    while kept and not kept[-1]:
        kept.pop()
    return kept


def bind(expected: str, actual: str, ids: Mapping[str, str]) -> dict[str, str] | None:
    """The page's ids bound so far, plus those this line binds; None if it differs."""
    page, real = TOKEN.findall(expected), TOKEN.findall(actual)
    if len(page) != len(real):
        return None
    bound = dict(ids)
    for ours, theirs in zip(page, real, strict=True):
        if ours in bound:
            if bound[ours] != theirs:
                return None
        elif ours != theirs:
            fresh = theirs not in bound.values() and len(ours) == len(theirs)
            if not (fresh and PAGE_ID.fullmatch(ours) and REAL_ID.fullmatch(theirs)):
                return None
            bound[ours] = theirs
    return bound


def bind_all(
    command: str, expected: Sequence[str], actual: Sequence[str], ids: dict[str, str]
) -> None:
    """Binds the ids of ``expected``, which must be ``actual`` line by line."""
    page, real = shown(expected), shown(actual)
    with_ids = [with_real_ids(line, ids) for line in page]
    diff = difflib.unified_diff(with_ids, real, "the page", "the run", lineterm="")
    report = "\n".join([f"$ {command}", *diff])
    assert len(page) == len(real), report
    for ours, theirs in zip(page, real, strict=True):
        bound = bind(ours, theirs, ids)
        assert bound is not None, report
        ids.update(bound)


def bind_in_order(expected: Sequence[str], actual: Sequence[str], ids: dict[str, str]) -> bool:
    """Whether the shown lines appear in ``actual`` in order (others may come between)."""
    bound, lines = dict(ids), iter(shown(actual))
    for ours in shown(expected):
        for theirs in lines:
            if (matched := bind(ours, theirs, bound)) is not None:
                bound = matched
                break
        else:
            return False
    ids.update(bound)
    return True


def with_real_ids(line: str, ids: Mapping[str, str]) -> str:
    for ours, theirs in ids.items():
        line = re.sub(rf"(?<![0-9a-z]){ours}(?![0-9a-z])", theirs, line)
    return line


@dataclass
class Reader:
    """Someone following the page: a working directory, a shell, the ids seen so far."""

    cluster: Cluster
    cwd: Path
    env: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    def follow(self, step: Step) -> None:
        match step:
            case SavedFile(name=name, text=text):
                assert text == (SOURCES / name).read_text(), f"the page's {name} is not {SOURCES}"
                (self.cwd / name).write_text(text)
            case Edit(diff=diff):
                self.edit(diff)
            case Command(line=line, output=output):
                self.run(with_real_ids(line, self.ids), output)

    def edit(self, diff: str) -> None:
        target = re.search(r"^\+\+\+ (\S+)", diff, re.MULTILINE)
        assert target is not None, diff
        path, wanted = self.cwd / target[1], (SOURCES / target[1]).read_text()
        actual = difflib.unified_diff(
            path.read_text().splitlines(keepends=True), wanted.splitlines(keepends=True),
            target[1], target[1],
        )  # fmt: skip
        assert "".join(actual) == diff, f"the page's edit does not make {SOURCES / target[1]}"
        path.write_text(wanted)

    def run(self, line: str, output: Sequence[str]) -> None:
        argv = shlex.split(line)
        if argv[0] == "cd":
            self.cwd = self.cwd / argv[1]
        elif argv[:2] == ["coflux", "server"]:
            assert argv == ["coflux", "server"], (
                "the fixture's server stands in for `coflux server`"
            )
            server = self.cluster.server.process
            assert server is not None
            eventually(lambda: bind_in_order(output, server.output.lines, self.ids), 10)
        elif argv[:2] == ["coflux", "agent"]:
            agent = Process(coflux_command(*argv[1:]), self.env, self.cwd)
            agent.start()
            self.cluster.agents.append(agent)
            lines = agent.output.lines
            eventually(lambda: bind_in_order(output, lines, self.ids), 30, message=line)
        else:
            done = subprocess.run(
                ["bash", "-c", line], cwd=self.cwd, env=self.env, timeout=60,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            fails = any(shown_line.startswith("error:") for shown_line in output)
            assert (done.returncode != 0) == fails, f"{line}: exit {done.returncode}\n{done.stdout}"
            bind_all(line, output, done.stdout.splitlines(), self.ids)


def reader(cluster: Cluster) -> Reader:
    """A reader whose shell finds this interpreter's ``coflux`` and the fixture's server."""
    bin_dir = cluster.workdir / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "coflux"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m coflux "$@"\n')
    shim.chmod(0o755)
    env = base_env(COFLUX_HOST=cluster.server.host, PYTHONUNBUFFERED="1", NO_COLOR="1")
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return Reader(cluster, cluster.workdir, env)


def runs_by_order(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """The shop's runs, inspected, by the order id they were submitted with."""
    env = cluster.env(COFLUX_PROJECT="shop")
    listed = cluster.cli("runs", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    runs = {}
    for summary in json.loads(listed.stdout):
        inspected = cluster.cli("runs", "inspect", summary["id"], "--json", env=env)
        run = json.loads(inspected.stdout)
        runs[run["steps"][0]["arguments"][0]["data"]] = run
    return runs


def steps_of(run: Mapping[str, Any], target: str) -> list[dict[str, Any]]:
    return [s for s in run["steps"] if s["target"] == target]


def states(step: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(e["state"], e["environment"]) for e in step["executions"]]


def test_every_block_of_the_page_is_followed() -> None:
    steps = tutorial_steps(TUTORIAL.read_text())
    assert [s.name for s in steps if isinstance(s, SavedFile)] == ["shop.py"]
    assert sum(isinstance(s, Edit) for s in steps) == 1
    typed = [s.line for s in steps if isinstance(s, Command)]
    assert all(shlex.split(line)[0] in ("coflux", "cd", "mkdir", "cp", "cat") for line in typed)
    assert any(line.startswith("coflux runs rerun") for line in typed)


def test_the_tutorial_runs_as_written(cluster: Cluster) -> None:
    following = reader(cluster)
    for step in tutorial_steps(TUTORIAL.read_text()):
        following.follow(step)

    runs = runs_by_order(cluster)
    assert set(runs) == {"A-1001", "A-1002", "A-1003"}
    first, second, third = runs["A-1001"], runs["A-1002"], runs["A-1003"]
    # The warehouse failed the first reservation once; the retry succeeded.
    [reservation] = steps_of(first, "reserve_stock")
    assert states(reservation) == [("failed", "production"), ("succeeded", "production")]
    # The second order took the price list from the first's cache.
    [prices] = steps_of(second, "fetch_prices")
    assert states(prices) == [("cached", "production")]
    # The failed order's workflow ran again in development, with the fixed code...
    workflow = third["steps"][0]
    assert states(workflow) == [("failed", "production"), ("succeeded", "development")]
    rerun = workflow["executions"][1]["id"]
    called = [s for s in third["steps"] if s["parent_execution"] == rerun]
    assert [(s["target"], states(s)) for s in called] == [
        ("fetch_prices", [("cached", "development")]),  # production's cache, inherited
        ("price_order", [("succeeded", "development")]),
        ("write_receipt", [("succeeded", "development")]),
    ]
    # ...and reused the reservation production made (memo): nothing reserved twice.
    [reservation] = steps_of(third, "reserve_stock")
    assert states(reservation) == [("succeeded", "production")]
    shop = cluster.workdir / "shop"
    assert sorted(p.name for p in (shop / "warehouse").iterdir()) == [
        "A-1001.txt", "A-1002.txt", "A-1003.txt",
    ]  # fmt: skip
    assert not (shop / "development" / "warehouse").exists()
