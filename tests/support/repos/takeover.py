"""A workflow that answers once a file appears, so a test can act while it runs."""

import time
from pathlib import Path

import coflux as cf


@cf.workflow
def answer_when(path: str) -> str:
    while not Path(path).exists():
        time.sleep(0.05)
    return "the real answer"
