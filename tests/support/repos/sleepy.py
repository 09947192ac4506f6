"""Tasks that run for a long time."""

import signal
import time

import coflux as cf


@cf.task
def sleep(seconds: float = 3600) -> None:
    time.sleep(seconds)


@cf.task
def stubborn(seconds: float = 3600) -> None:
    """Ignores SIGTERM, so only SIGKILL stops it."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ignoring SIGTERM", flush=True)
    time.sleep(seconds)
