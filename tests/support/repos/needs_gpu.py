"""A workflow only an agent that provides ``gpu=A100`` can run."""

import coflux as cf


@cf.workflow(requires={"gpu": "A100"})
def train() -> str:
    return "trained"
