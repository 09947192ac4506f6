"""Shell completion (click's own, docs/cli.md): each shell's script is produced,
and it completes a command's and a subcommand's name."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def complete(**env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "coflux"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("COFLUX_")}, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F _coflux_completion coflux"), ("zsh", "#compdef coflux"),
     ("fish", "complete --no-files --command coflux")],
)  # fmt: skip
def test_each_shell_gets_its_script(shell: str, marker: str) -> None:
    script = complete(_COFLUX_COMPLETE=f"{shell}_source")
    assert marker in script
    assert f"_COFLUX_COMPLETE={shell}_complete" in script


def test_bash_completes_commands_and_subcommands() -> None:
    found = complete(_COFLUX_COMPLETE="bash_complete", COMP_WORDS="coflux ru", COMP_CWORD="1")
    assert found.splitlines() == ["plain,runs"]
    found = complete(_COFLUX_COMPLETE="bash_complete", COMP_WORDS="coflux runs ins", COMP_CWORD="2")
    assert found.splitlines() == ["plain,inspect"]


def test_zsh_and_fish_complete_with_the_commands_help() -> None:
    zsh = complete(_COFLUX_COMPLETE="zsh_complete", COMP_WORDS="coflux env", COMP_CWORD="1")
    assert zsh.splitlines()[:2] == ["plain", "environments"]
    fish = complete(_COFLUX_COMPLETE="fish_complete", COMP_WORDS="coflux env", COMP_CWORD="env")
    assert fish.splitlines()[0].startswith("plain,environments\t")
