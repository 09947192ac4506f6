"""One-line previews of values and outcomes, for the views read at scale: a run's
outline carries them so that ``runs inspect`` can show each step's arguments and
each execution's result in its call tree without reading the full values.

A preview is at most ``PREVIEW_LENGTH`` characters (a cut one ends with "…"),
so an outline of 10,000 steps grows by a bounded amount whatever the values
hold. It never unpickles and never reads the blob store: a pickled or stored
value is previewed by its type and size.
"""

from __future__ import annotations

import msgspec

from coflux import protocol

PREVIEW_LENGTH = 60
_encode = msgspec.json.Encoder(enc_hook=str).encode


def cut(text: str, limit: int = PREVIEW_LENGTH) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    line = " ".join(text.split()) if "\n" in text or "\r" in text else text
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _size(count: int) -> str:
    if count < 1000:
        return f"{count} B"
    amount = count / 1000
    for unit in ("KB", "MB"):
        if amount < 1000:
            return f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} GB"


def value_preview(value: protocol.Value) -> str:
    """A value as its first characters of JSON, or its type and size when it is
    pickled or in the blob store."""
    if value.format == "pickle":
        size = f", {_size(value.size)}" if value.size else ""
        return cut(f"<pickled {value.label or 'value'}{size}>")
    if value.blob is not None and value.data is None:
        return cut(f"<blob {value.label or 'json'}, {_size(value.size)}>")
    from coflux.serialization import to_display  # the store's readers only, when asked

    # msgspec, not json.dumps: several times faster, and an outline makes two a step.
    return cut(_encode(to_display(value)).decode("utf-8", "replace"))


def argument_previews(arguments: tuple[protocol.Value, ...] | list[protocol.Value]) -> list[str]:
    return [value_preview(argument) for argument in arguments]


def outcome_preview(outcome: protocol.Outcome | None) -> str | None:
    """A succeeded execution's result, or a failed one's error (``Type: message``);
    None for the other outcomes (the state says all there is)."""
    match outcome:
        case protocol.Succeeded(value=value):
            return value_preview(value)
        case protocol.Failed(error=error):
            return cut(f"{error.type.removeprefix('builtins.')}: {error.message}")
        case _:
            return None
