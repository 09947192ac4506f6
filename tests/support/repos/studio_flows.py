"""Workflows for Studio's end-to-end tests: a fan-out, a slow step to cancel, live logs."""

import os
import time

import coflux as cf


@cf.task
def square(n: int) -> int:
    return n * n


@cf.task
def total(squares: list[cf.Execution[int]]) -> int:
    """Adds up results passed in as execution handles (a result dependency)."""
    return sum(execution.result() for execution in squares)


@cf.workflow
def fan_out(count: int, label: str = "squares") -> dict[str, object]:
    """Square 0..count-1 in parallel, then add the squares up."""
    squares = [square.submit(n) for n in range(count)]
    cf.log_info("submitted {count} squares for {label}", count=count, label=label)
    return {"label": label, "total": total(squares)}


@cf.task
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@cf.workflow
def slow(seconds: float = 3600) -> float:
    """One slow step: something to cancel."""
    return nap(seconds)


@cf.workflow
def gated(gate: str) -> str:
    """Logs, waits until the file `gate` exists, then logs again."""
    cf.log_info("waiting for {gate}", gate=gate)
    print("stdout before the gate", flush=True)
    checks = 0
    while not os.path.exists(gate):
        checks += 1
        time.sleep(0.02)
    cf.log_warning("gate opened after {checks} checks", checks=checks)
    return "opened"


@cf.task
def write_report(rows: int) -> cf.Asset:
    """Writes a small CSV report and persists it as an asset."""
    lines = ["n,square"] + [f"{n},{n * n}" for n in range(rows)]
    with open("report.csv", "w") as f:
        f.write("\n".join(lines) + "\n")
    return cf.persist_asset("report.csv")


@cf.workflow
def reporting(rows: int = 3) -> cf.Asset:
    """Produces an asset (a CSV file) to preview and download."""
    return write_report(rows)
