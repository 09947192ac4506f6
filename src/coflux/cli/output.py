"""Everything the CLI writes to the terminal: results on stdout, the rest on stderr.

Commands print through these functions only, so that stdout stays clean for
scripts (``--json``, ``submit --wait``) and errors have one shape:
``error: MESSAGE`` on one line of stderr.

Two ways to look, one set of functions: written to a pipe or a file, output is
plain, aligned text (what scripts and the tests parse, unchanged by colour);
written to a terminal, tables are drawn with rich and states are coloured by
``STATE_STYLES``, the one mapping from a state to its look. rich is imported
only then, so a command piped into another one starts as fast as without it.
rich honours ``NO_COLOR`` (drawn, not coloured); ``TTY_COMPATIBLE=1`` or ``=0``
says whether the output is a terminal when detecting it is wrong (rich's own
variable, read here too so that both agree).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

import click
import msgspec

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

# How each state looks on a terminal: executions and runs (ExecutionState), then
# environments (EnvironmentStatus), projects and tokens.
STATE_STYLES: dict[str, str] = {
    "queued": "yellow",
    "assigned": "cyan",
    "suspended": "blue",
    "deferred": "blue",
    "spawned": "blue",
    "succeeded": "green",
    "cached": "green",
    "failed": "bold red",
    "timed_out": "red",
    "abandoned": "red",
    "cancelled": "magenta",
    "active": "green",
    "paused": "yellow",
    "archived": "dim",
    "ok": "green",
    "unavailable": "red",
    "revoked": "dim",
}


class CliError(click.ClickException):
    """A user-facing failure: printed as ``error: MESSAGE``, exit code 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
"""The ``--json`` flag of every command that prints data (as ``as_json``)."""


def out(text: str) -> None:
    """A line of the command's result (stdout)."""
    click.echo(text)


def info(text: str) -> None:
    """A line for the person at the terminal (stderr)."""
    click.echo(text, err=True)


def emit_json(data: Any) -> None:
    """Print ``data`` (plain data, views or protocol records) as indented JSON."""
    out(msgspec.json.format(msgspec.json.encode(data), indent=2).decode("utf-8"))


def is_terminal(err: bool = False) -> bool:
    """Whether stdout (``err``: stderr) is a terminal, to be drawn on with rich."""
    forced = os.environ.get("TTY_COMPATIBLE", "")
    if forced in ("0", "1"):
        return forced == "1"
    isatty = getattr(sys.stderr if err else sys.stdout, "isatty", None)
    return bool(isatty is not None and isatty())


def console(err: bool = False) -> Console:
    """A rich console on stdout (``err``: stderr), for output to a terminal only."""
    from rich.console import Console

    # Built at each use: click's test runner swaps sys.stdout per command.
    return Console(
        file=sys.stderr if err else sys.stdout,
        force_terminal=True,  # is_terminal decided; rich keeps NO_COLOR's say
        highlight=False,  # no guessing at numbers and paths to colour
        soft_wrap=True,  # long lines wrap as the terminal wraps them, not cut
    )


def live() -> Live:
    """A live display on stderr, for a terminal only (``--follow``): started and
    stopped by its user, redrawn when it asks (``update(..., refresh=True)``)."""
    from rich.live import Live

    # Not refreshed by rich's own thread: what it draws changes in the caller's.
    # stdout is left alone: it may be a pipe, waiting for the result.
    return Live(
        console=console(err=True), auto_refresh=False, transient=True, redirect_stdout=False
    )


def state_style(state: str) -> str | None:
    """The style of a state as shown: ``timed out``, ``unavailable: why``,
    ``revoked 2026-...`` (its first word) all find theirs; None for any other text."""
    head = state.partition(":")[0]
    return STATE_STYLES.get(head.replace(" ", "_")) or STATE_STYLES.get(head.partition(" ")[0])


class Marked(str):
    """A line whose states are coloured on a terminal. Being a ``str``, it is its
    plain text everywhere else (joined, compared, written to a pipe)."""

    marks: tuple[tuple[int, int, str], ...]  # (start, end, state shown there)

    def __new__(cls, *parts: str | tuple[str, str]) -> Marked:
        """The line made of ``parts``: plain text, and ``(text, state)`` for text
        coloured as ``state``."""
        marks: list[tuple[int, int, str]] = []
        pieces: list[str] = []
        at = 0
        for part in parts:
            text, state = (part, None) if isinstance(part, str) else part
            if state is not None:
                marks.append((at, at + len(text), state))
            pieces.append(text)
            at += len(text)
        line = super().__new__(cls, "".join(pieces))
        line.marks = tuple(marks)
        return line


def _styled(lines: Iterable[str]) -> Text:
    """Lines as one rich Text, each ``Marked`` state in its style."""
    from rich.text import Text

    text = Text()
    for line in lines:
        start = len(text)
        text.append(line)
        for begin, end, state in getattr(line, "marks", ()):
            style = state_style(state)
            if style is not None:
                text.stylize(style, start + begin, start + end)
        text.append("\n")
    text.rstrip()
    return text


def out_lines(lines: Iterable[str]) -> None:
    """Lines of the command's result, in one write (a run can have 10,000 steps)."""
    if is_terminal():
        console().print(_styled(lines))
    else:
        out("\n".join(lines))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, states: str = "") -> None:
    """Print rows under headers: on a terminal a rich table with the ``states``
    column (its header) coloured by state; elsewhere plain columns padded to their
    widest cell."""
    if is_terminal():
        _rich_table(headers, rows, states)
        return
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in [headers, *rows]:
        out("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _rich_table(headers: Sequence[str], rows: Sequence[Sequence[str]], states: str) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    drawn = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
    for header in headers:
        drawn.add_column(header, overflow="fold")
    coloured = headers.index(states) if states in headers else -1
    for row in rows:
        drawn.add_row(
            *(
                Text(cell, style=state_style(cell) or "") if i == coloured else Text(cell)
                for i, cell in enumerate(row)
            )
        )
    console().print(drawn, soft_wrap=False)


def fmt_time(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def fmt_clock(timestamp: float) -> str:
    """Time of day with milliseconds (for log lines)."""
    return dt.datetime.fromtimestamp(timestamp).strftime("%H:%M:%S.%f")[:-3]


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 120:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def setup_logging() -> None:
    """Log lines (INFO and above) on stderr, for the agent (the server has its own,
    ``coflux.server.logconfig``). logging is imported here, not with the module:
    the commands that only make requests log nothing, and start ~3 ms sooner."""
    import logging

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
