"""Workflows for Studio's safety e2e tests: one that waits on a gate file (so it can
be cancelled, or not), one whose steps log at several levels, one whose task no agent
can take."""

from __future__ import annotations

import os
import time

import coflux as cf


@cf.task
def wait_for(gate: str) -> str:
    while not os.path.exists(gate):
        time.sleep(0.05)
    return "opened"


@cf.workflow
def hold(gate: str) -> str:
    return wait_for(gate)


@cf.task
def chatter(tag: str) -> None:
    cf.log_debug("debugging {tag}", tag=tag)
    cf.log_info("hello from {tag}", tag=tag)
    print(f"printed by {tag}", flush=True)


@cf.task
def needle() -> None:
    cf.log_info("plain info line")
    cf.log_warning("needle in the second step")
    cf.log_error("error in the second step")


@cf.workflow
def talkative(tag: str) -> None:
    chatter(tag)
    needle()


@cf.task(requires={"gpu": "A100"})
def on_gpu() -> str:
    return "trained"


@cf.workflow
def train() -> str:
    """Its task waits queued: no agent of the tests provides gpu=A100."""
    return on_gpu()
