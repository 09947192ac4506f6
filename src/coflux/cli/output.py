"""Everything the CLI writes to the terminal: results on stdout, the rest on stderr.

Commands print through these functions only, so that stdout stays clean for
scripts (``--json``, ``submit --wait``) and errors have one shape:
``error: MESSAGE`` on one line of stderr.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import IO, Any

import click
import msgspec


class CliError(click.ClickException):
    """A user-facing failure: printed as ``error: MESSAGE``, exit code 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def out(text: str) -> None:
    """A line of the command's result (stdout)."""
    click.echo(text)


def info(text: str) -> None:
    """A line for the person at the terminal (stderr)."""
    click.echo(text, err=True)


def emit_json(data: Any) -> None:
    """Print ``data`` (plain data, views or protocol records) as indented JSON."""
    out(msgspec.json.format(msgspec.json.encode(data), indent=2).decode("utf-8"))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print rows under headers, columns padded to their widest cell."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in [headers, *rows]:
        out("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


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


def setup_logging(level: int = logging.INFO) -> None:
    """Log lines on stderr, for the long-running commands (server, agent)."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
