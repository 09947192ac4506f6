"""A log line as people read it, and the filter that finds lines by level and text.

The message (a template with its ``{name}`` placeholders filled in) is what the CLI
prints, what Studio shows and what a search matches, so all three are one function:
searching the stored template and values instead would miss text that spans both
("n=5" from ``"n={n}"``) and find the values' encoding ("format", "json"). The
server's logs route filters with ``LogFilter`` (its ``q`` and ``level``); Studio's
``model/logs.ts`` applies the same rule to the lines it receives live.

Levels rank as Studio's level picker orders them: debug, then info with the
captured ``stdout`` and ``stderr`` (a program's ordinary output), warning, error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from coflux import protocol
from coflux.views import LogView

LEVEL_RANK: dict[str, int] = {
    "debug": 0,
    "info": 1,
    "stdout": 1,
    "stderr": 1,
    "warning": 2,
    "error": 3,
}
# What ``level`` may name: a minimum, so the captured streams are not among them.
MINIMUM_LEVELS = ("debug", "info", "warning", "error")

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def levels_from(minimum: str) -> tuple[str, ...]:
    """The levels at or above ``minimum`` (one of ``MINIMUM_LEVELS``)."""
    floor = LEVEL_RANK[minimum]
    return tuple(level for level, rank in LEVEL_RANK.items() if rank >= floor)


def _display_text(value: protocol.Value) -> str:
    # Loaded on first use: the CLI's call tree, which draws no values, stays quick.
    from coflux.serialization import to_display

    shown = to_display(value)
    return shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False, default=str)


def render_message(template: str, values: Mapping[str, protocol.Value]) -> str:
    """Fill ``{name}`` placeholders with their values as people read them; unknown
    names are left as they are."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else _display_text(value)

    return _PLACEHOLDER.sub(fill, template)


@dataclass(frozen=True)
class LogFilter:
    """Which lines a reader wants: those whose message contains ``text`` (ignoring
    case), at ``minimum`` level or above; None: any."""

    text: str | None = None
    minimum: str | None = None

    @property
    def searching(self) -> bool:
        return self.text is not None

    def levels(self) -> tuple[str, ...] | None:
        """The levels kept, for the store to filter by (None: all)."""
        return None if self.minimum is None else levels_from(self.minimum)

    def matches(self, entry: LogView) -> bool:
        if self.minimum is not None and LEVEL_RANK[entry.level] < LEVEL_RANK[self.minimum]:
            return False
        if self.text is None:
            return True
        return self.text.lower() in render_message(entry.template, entry.values).lower()
