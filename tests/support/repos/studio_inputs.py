"""Input prompts for Studio's browser test (tests/e2e/test_inputs.py).

``annotate`` asks for a form (a Pydantic model with a choice, a bounded integer and
an optional note) and returns what it was given; ``deploy`` asks for an approval
with its own button labels, so a test can approve one run and dismiss another.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

import coflux as cf


class Label(BaseModel):
    sentiment: Literal["positive", "neutral", "negative"]
    confidence: int = Field(ge=1, le=5)
    notes: str | None = None


label = cf.Prompt(
    """
    ## Label this feedback

    From **{customer}**:

    {{text}}
    """,
    model=Label,
    title="Label feedback",
)

approve = cf.Prompt(
    "Deploy `{service}` to *production*?", title="Deployment", actions=("Deploy", "Hold")
)


@cf.workflow()
def annotate(customer: str, text: str) -> str:
    answer = label.with_initial({"sentiment": "neutral"})(customer=customer, text=text)
    return f"{answer.sentiment} {answer.confidence} {answer.notes}"


@cf.workflow()
def deploy(service: str) -> str:
    approve(service=service)
    return f"deployed {service}"
