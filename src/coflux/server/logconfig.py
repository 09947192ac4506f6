"""How the server process logs: the level, text or JSON lines, and the access log.

Every line goes to stderr with a dated timestamp (a server runs for days, and
its lines are read beside other services' lines). ``text`` is for people:
``2026-12-02 21:40:33.123 INFO    coflux.server.main: serving on ...``.
``json`` is for log collectors: one object a line with ``time`` (ISO 8601, UTC),
``level``, ``logger`` and ``message``, plus ``exception`` when there is one and,
for the access log, ``client``, ``method``, ``path``, ``http_version`` and
``status`` as fields of their own.

uvicorn's own loggers go through the same handler: its start-up chatter is kept
at warning (our own "serving on" line says the same), and its access log
(``uvicorn.access``, one line per HTTP request and WebSocket handshake) is on
only when asked for, because on a busy server it is most of the volume.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Literal

LogFormat = Literal["text", "json"]
LEVELS = ("debug", "info", "warning", "error")

ACCESS_LOGGER = "uvicorn.access"
# uvicorn's access record's arguments, in the order it passes them.
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s",
            datefmt="%Y-%m-%d %H:%M:%S",
        )


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module's docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "time": f"{moment}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (
            record.name == ACCESS_LOGGER
            and isinstance(record.args, tuple)
            and len(record.args) == len(ACCESS_FIELDS)
        ):
            line.update(zip(ACCESS_FIELDS, record.args, strict=True))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str = "info", format: LogFormat = "text", access_log: bool = False) -> None:
    """Send every log line of the process to stderr, as ``format``, from ``level`` up.

    Call before uvicorn starts: ``coflux.server.main`` then leaves logging as is.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's start-up lines repeat ours; keep its warnings and errors (and all at debug).
    chatter = logging.DEBUG if level == "debug" else logging.WARNING
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        logging.getLogger(name).setLevel(chatter)
    access = logging.getLogger(ACCESS_LOGGER)
    access.setLevel(logging.INFO if access_log else logging.CRITICAL + 1)
    access.disabled = not access_log
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi", ACCESS_LOGGER):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
