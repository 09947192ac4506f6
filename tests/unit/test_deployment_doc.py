"""docs/deployment.md against the real ``coflux`` commands, so the page cannot name
an option, a variable or a command line that does not work.

- Every ``coflux`` command line in its code blocks (the ``ExecStart=`` of its
  systemd units included) parses with click's ``make_context`` on the command
  objects of ``coflux.cli``, in the environment its unit's ``EnvironmentFile`` gives;
  every ``COFLUX_*`` variable of an environment file is read by that command.
- Every ``--flag`` in the prose is listed by the ``--help`` of the command it is
  written with (``coflux submit --follow``), or else of ``coflux server`` or
  ``coflux agent``; every ``COFLUX_*`` variable anywhere is listed by the help of
  ``coflux server``, ``coflux agent`` or ``coflux``.
- The files agree with one another: the proxies forward to where the server's unit
  binds, with the WebSocket upgrade; the backup job reads the server's settings and
  copies the data directory the server uses; the shell blocks are valid shell.

A block that is a file names its path in its first comment line (after the shebang
of a script), as ``# /etc/coflux/server.env``. The backup and restore scripts are run
against a live server by ``tests/integration/test_deployment_backup.py``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import click
import pytest
from click.core import ParameterSource
from click.testing import CliRunner

from coflux.cli.main import cli

DOC = Path(__file__).parents[2] / "docs" / "deployment.md"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
PATH_COMMENT = re.compile(r"# (/[^\s:]+)(.*)")
VARIABLE = re.compile(r"\bCOFLUX_[A-Z_]*[A-Z]\b")  # not a family: COFLUX_SERVER_*
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
SPAN = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class Block:
    language: str
    text: str

    @property
    def path(self) -> str | None:
        """The path the block's first comment names (after a shebang), if any."""
        lines = [line for line in self.text.splitlines() if not line.startswith("#!")]
        named = PATH_COMMENT.fullmatch(lines[0]) if lines else None
        return None if named is None else named[1]

    @property
    def label(self) -> str:
        """The block's first comment line, which tells variants of one file apart."""
        return next(line for line in self.text.splitlines() if not line.startswith("#!"))


def blocks() -> list[Block]:
    return [Block(m[1], m[2]) for m in FENCE.finditer(DOC.read_text())]


def block(label: str) -> Block:
    [found] = [b for b in blocks() if b.label == label]
    return found


def prose() -> str:
    return FENCE.sub("", DOC.read_text())


def assignments(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines of a systemd unit section or an environment file."""
    pairs = (line.split("=", 1) for line in text.splitlines() if re.match(r"\w+=", line))
    return dict(pairs)


def unit(path: str) -> dict[str, str]:
    """The settings of the unit or environment file the page shows at ``path``."""
    return assignments(block(f"# {path}").text)


def script(path: str) -> Block:
    [found] = [b for b in blocks() if b.path == path]
    return found


# --- the real commands -------------------------------------------------------------


def command_path(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """The subcommand names at the start of ``words`` (``tokens create``), and the rest."""
    command: click.Command = cli
    names: list[str] = []
    for word in words:
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(click.Context(command), word)
        if sub is None:
            break
        command, names = sub, [*names, word]
    return names, list(words[len(names) :])


def parse(argv: Sequence[str]) -> list[click.Context]:
    """The contexts (``coflux`` first) that ``coflux ARGV`` would run in; the
    group's own options are left to its variables, as the page gives none."""
    names, rest = command_path(argv)
    assert names, f"coflux {shlex.join(argv)}: no such command"
    contexts = [cli.make_context("coflux", names[:1])]
    for depth, name in enumerate(names, start=1):
        group = contexts[-1].command
        assert isinstance(group, click.Group)
        command = group.get_command(contexts[-1], name)
        assert command is not None
        args = rest if depth == len(names) else names[depth : depth + 1]
        contexts.append(command.make_context(name, args, parent=contexts[-1]))
    return contexts


@cache
def help_text(*names: str) -> str:
    shown = CliRunner().invoke(cli, [*names, "--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    return shown.output


def listed(name: str, *commands: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(name)}\b", help_text(*c)) for c in commands)


# --- the page's command lines --------------------------------------------------------


def coflux_commands(line: str) -> Iterator[list[str]]:
    """Each ``coflux`` (or ``.../bin/coflux``) command of a shell line, without it."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    command: list[str] = []
    for word in [*lexer, ";"]:
        if word.strip(";&|"):
            command.append(word)
            continue
        programs = [w for w in command if not re.match(r"\w+=", w)]
        if programs and (programs[0] == "coflux" or programs[0].endswith("/bin/coflux")):
            yield programs[1:]
        command = []


def shell_lines() -> list[str]:
    lines = []
    for b in blocks():
        if b.language in ("bash", "sh"):
            lines += [line for line in b.text.splitlines() if not line.lstrip().startswith("#")]
    return lines


def exec_start(path: str) -> list[str]:
    [argv] = coflux_commands(unit(path)["ExecStart"])
    return argv


def use_environment(monkeypatch: pytest.MonkeyPatch, variables: Mapping[str, str]) -> None:
    for name in [n for n in os.environ if n.startswith("COFLUX_")]:
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def assert_read_from_environment(contexts: Sequence[click.Context], names: Sequence[str]) -> None:
    for name in names:
        readers = [
            (ctx, p)
            for ctx in contexts
            for p in ctx.command.params
            if p.name is not None
            and name in ([p.envvar] if isinstance(p.envvar, str) else p.envvar or [])
        ]
        assert readers, f"no option of {contexts[-1].command_path} reads {name}"
        for ctx, p in readers:
            assert p.name is not None
            assert ctx.get_parameter_source(p.name) is ParameterSource.ENVIRONMENT, name


# --- tests ---------------------------------------------------------------------------


def test_every_coflux_command_line_of_the_page_parses() -> None:
    typed = [argv for line in shell_lines() for argv in coflux_commands(line)]
    assert ["tokens", "create", "--project", "shop", "--read-only", "--description",
            "dashboards"] in typed  # fmt: skip
    for argv in typed:
        parse(argv)


@pytest.mark.parametrize(
    ("env_files", "dropped"),
    [
        (["# /etc/coflux/server.env"], []),
        (["# /etc/coflux/server.env", "# /etc/coflux/server.env (PostgreSQL and S3)"], ["--fsync"]),
    ],
    ids=["sqlite", "postgres-s3"],
)
def test_the_server_unit_starts_the_server_with_its_settings(
    monkeypatch: pytest.MonkeyPatch, env_files: list[str], dropped: list[str]
) -> None:
    service = unit("/etc/systemd/system/coflux-server.service")
    assert service["EnvironmentFile"] == "/etc/coflux/server.env"
    variables = {k: v for label in env_files for k, v in assignments(block(label).text).items()}
    use_environment(monkeypatch, variables)
    argv = [word for word in exec_start("/etc/systemd/system/coflux-server.service")
            if word not in dropped]  # fmt: skip
    assert argv[0] == "server"
    contexts = parse(argv)
    assert_read_from_environment(contexts, [n for n in variables if n.startswith("COFLUX_")])
    params = contexts[-1].params
    assert params["fsync"] is ("--fsync" not in dropped)  # SQLite's option only
    assert params["token_file"] == "/etc/coflux/admin-token"
    # The server keeps its data where systemd made its state directory.
    assert (
        params["data_dir"] == f"/var/lib/{service['StateDirectory']}" == service["WorkingDirectory"]
    )


def test_the_agent_unit_starts_an_agent_with_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    service = unit("/etc/systemd/system/coflux-agent.service")
    variables = unit(service["EnvironmentFile"])
    use_environment(monkeypatch, variables)
    argv = exec_start("/etc/systemd/system/coflux-agent.service")
    contexts = parse(argv)
    assert contexts[-1].command.name == "agent"
    assert_read_from_environment(contexts, list(variables))
    assert "--dev" not in argv and "--watch" not in argv
    assert service["KillMode"] == "mixed"  # the agent, not systemd, stops its executors


def test_every_variable_the_page_names_exists() -> None:
    named = set(VARIABLE.findall(DOC.read_text()))
    assert {"COFLUX_SERVER_DATA_DIR", "COFLUX_TOKEN", "COFLUX_AGENT_NO_PICKLE"} <= named
    commands = [("server",), ("agent",), ()]
    assert [n for n in sorted(named) if not listed(n, *commands)] == []


def test_every_flag_in_the_prose_exists() -> None:
    checked = 0
    for span in SPAN.findall(prose()):
        words = span.split()
        if words[0] == "coflux":
            names, _ = command_path(words[1:])
            commands = [tuple(names)]
        elif words[0].startswith("--"):
            commands = [("server",), ("agent",)]
        else:
            continue
        for flag in FLAG.findall(span):
            assert listed(flag, *commands), f"`{span}`: {flag} is not an option of {commands}"
            checked += 1
    assert checked >= 10


def test_the_proxies_forward_to_the_server_with_websockets() -> None:
    argv = exec_start("/etc/systemd/system/coflux-server.service")
    params = parse(argv)[-1].params
    address = f"{params['host']}:{params['port']}"
    nginx = block("# /etc/nginx/conf.d/coflux.conf").text
    assert f"proxy_pass http://{address};" in nginx
    for directive in (
        "map $http_upgrade $connection_upgrade",
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_buffering off;",
        "proxy_read_timeout 1h;",  # above the 60 s of a long poll, for quiet WebSockets
    ):
        assert directive in nginx
    caddy = block("# /etc/caddy/Caddyfile").text
    assert f"reverse_proxy {address}" in caddy
    # Agents and Prometheus reach the server by the name the proxies serve.
    [name] = set(re.findall(r"server_name (\S+);", nginx))
    assert caddy.splitlines()[1] == f"{name} {{"
    assert unit("/etc/coflux/agent.env")["COFLUX_HOST"] == f"https://{name}"
    assert f'targets: ["{name}"]' in block("# /etc/prometheus/prometheus.yml (a scrape job)").text


def test_the_backup_job_copies_the_servers_data() -> None:
    server = unit("/etc/systemd/system/coflux-server.service")
    backup = unit("/etc/systemd/system/coflux-backup.service")
    assert backup["EnvironmentFile"] == server["EnvironmentFile"]
    assert backup["User"] == server["User"]
    data_dir = unit("/etc/coflux/server.env")["COFLUX_SERVER_DATA_DIR"]
    for path in (backup["ExecStart"], "/usr/local/bin/coflux-restore"):
        assert f"data=${{COFLUX_SERVER_DATA_DIR:-{data_dir}}}" in script(path).text
    assert "OnCalendar" in unit("/etc/systemd/system/coflux-backup.timer")


def test_the_shell_blocks_are_valid_shell() -> None:
    shells = [b for b in blocks() if b.language in ("bash", "sh")]
    assert len(shells) >= 4
    for b in shells:
        checked = subprocess.run([b.language, "-n"], input=b.text, capture_output=True, text=True)
        assert checked.returncode == 0, f"{b.label}\n{checked.stderr}"
