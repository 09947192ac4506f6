"""Did-you-mean: which known name a person probably meant when they typed one that is not.

Shared by the server (its refusals of unknown repositories and targets suggest
one) and the CLI (``submit`` waits for a repository to be registered only when
the name is not a near miss of one that is). Pure: no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# difflib's ratio above which a name counts as a misspelling of another
# ("print_greting" / "print_greeting" is 0.96, "hellp" / "hello" 0.8, "x" / "hello" 0).
SIMILARITY = 0.6


def closest(typed: str, known: Iterable[str]) -> str | None:
    """The known name most like ``typed`` (case aside), if any is like it at all."""
    names = {name.lower(): name for name in known}
    found = difflib.get_close_matches(typed.lower(), names, n=1, cutoff=SIMILARITY)
    return names[found[0]] if found else None


def did_you_mean(typed: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known name, or ``""`` if none is close."""
    match = closest(typed, known)
    return f"; did you mean '{match}'?" if match is not None else ""
