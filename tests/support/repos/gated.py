"""A repository whose import waits until the file named by ``GATE_FILE`` exists, so
that a test can hold an agent between starting and registering its manifest."""

import os
import time
from pathlib import Path

import coflux as cf

# Unset (the manifest test imports every sample): open at once.
_GATE = Path(os.environ.get("GATE_FILE", __file__))
while not _GATE.exists():
    time.sleep(0.02)


@cf.workflow
def opened() -> str:
    return "opened"
