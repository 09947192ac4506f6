"""A nested fan-out: a workflow over branches that each wait on their leaves."""

import coflux as cf


@cf.task
def leaf(branch: int, index: int) -> int:
    return branch * 100 + index


@cf.task
def branch(number: int, leaves: int) -> int:
    """Waits in ``.result()`` for all of its leaves: it holds a process meanwhile."""
    calls = [leaf.submit(number, index) for index in range(leaves)]
    return sum(call.result() for call in calls)


@cf.workflow
def tree(width: int = 25, leaves: int = 10) -> int:
    """1 -> ``width`` branches -> ``leaves`` leaves each."""
    calls = [branch.submit(number, leaves) for number in range(width)]
    return sum(call.result() for call in calls)
