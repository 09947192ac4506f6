"""A sensor that counts up, checkpointing as it goes, and ends after a few ticks."""

import time
from pathlib import Path

import coflux as cf


@cf.sensor
def counter(log: str, start: int = 0) -> None:
    """Appends start..start+2 to the log file, checkpointing each, then ends."""
    path = Path(log)
    for value in range(start, start + 3):
        with path.open("a") as file:
            file.write(f"{value}\n")
        cf.checkpoint(log, value + 1)
        time.sleep(0.05)
