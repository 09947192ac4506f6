"""Workflows for the integration tests: parallel work, slow steps, output."""

import subprocess
import sys
import time

import coflux as cf


@cf.task
def double(n: int) -> int:
    return n * 2


@cf.workflow
def fan_out(count: int) -> int:
    """Double 0..count-1 in parallel and add the results up."""
    executions = [double.submit(n) for n in range(count)]
    return sum(execution.result() for execution in executions)


@cf.task
def pause(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@cf.workflow
def slow_chain(seconds: float) -> list[float]:
    """Two slow steps one after the other."""
    return [pause(seconds), pause(seconds)]


@cf.workflow
def wait_on_pause(seconds: float) -> float:
    return pause(seconds)


@cf.task
def divide(a: int, b: int) -> float:
    return a / b


@cf.workflow
def divide_by_zero(a: int) -> float:
    """Fails in a child step with ZeroDivisionError."""
    return divide(a, 0)


@cf.workflow
def recovers(a: int) -> str:
    """Catches the child's error by its original type."""
    try:
        divide(a, 0)
    except ZeroDivisionError as e:
        return f"caught {type(e).__name__}"
    return "not caught"


@cf.workflow
def noisy(tag: str) -> str:
    print(f"stdout {tag}")
    print(f"stderr {tag}", file=sys.stderr)
    subprocess.run([sys.executable, "-c", f"print('child {tag}')"], check=True)
    cf.log_warning("structured {tag} {n}", tag=tag, n=42)
    return tag


@cf.workflow
def echo(value: object) -> object:
    return value
