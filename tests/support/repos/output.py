"""A task that writes to stdout and stderr, directly and from a child process."""

import subprocess
import sys

import coflux as cf


@cf.task
def noisy(tag: str) -> str:
    print(f"out {tag}")
    print(f"err {tag}", file=sys.stderr)
    subprocess.run([sys.executable, "-c", f"print('child {tag}')"], check=True)
    cf.log_info("logged {tag} {count}", tag=tag, count=3)
    sys.stdout.write(f"partial {tag}")  # no newline: still captured at the end
    return tag


@cf.task
def many(lines: int) -> int:
    for index in range(lines):
        print(f"line {index}")
    return lines
