"""Calls targets hosted by another agent, through stubs."""

import os

import coflux as cf


@cf.stub("remote_tasks")
def where(tag: str) -> str: ...


@cf.stub("remote_tasks", type="workflow")
def remote_workflow(x: int) -> int: ...


@cf.workflow
def calls_stubs(tag: str) -> list[object]:
    return [os.getpid(), where(tag), remote_workflow(2)]
