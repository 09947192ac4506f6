"""JSON command-line arguments of ``submit`` and ``sensors start``, as values.

Plain JSON only: ``from_json`` escapes an object with a ``"$"`` key of its own, so
nothing typed here can become a tag (a pickle least of all: the server refuses
those from outside an execution, docs/values.md "Trust model").
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from coflux import protocol
from coflux.cli.output import CliError
from coflux.serialization import from_json


def parse_arguments(texts: Sequence[str]) -> list[protocol.Value]:
    """Parse every argument as JSON before anything is sent.

    Raises:
        CliError: an argument is not JSON (the message says which, and how to
            pass a string).
    """
    values: list[protocol.Value] = []
    for position, text in enumerate(texts, start=1):
        try:
            values.append(from_json(json.loads(text)))
        except (ValueError, TypeError) as e:  # JSONDecodeError is a ValueError
            hint = " (a string must be quoted: '\"text\"')" if text[:1] not in '[{"' else ""
            raise CliError(f"argument {position} is not valid JSON: {e}{hint}") from None
    return values
