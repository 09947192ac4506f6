"""Targets called through stubs from another repository (tests/support/repos/uses_stubs.py)."""

import os

import coflux as cf


@cf.task
def where(tag: str) -> str:
    """Report the process that ran it, so tests can tell agents apart."""
    return f"{tag}@{os.getpid()}"


@cf.workflow
def remote_workflow(x: int) -> int:
    return x * 3
