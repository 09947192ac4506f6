"""The upstream Coflux 0.11 inputs docs' "Suspending while waiting" sample, run
unchanged by tests/integration/test_inputs.py (see upstream_inputs.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

import coflux as cf


class Label(BaseModel):
    sentiment: Literal["positive", "neutral", "negative"]
    topic: Literal["product", "shipping", "support", "other"]
    confidence: int = Field(ge=1, le=5)
    notes: str | None = None


label = cf.Prompt("Label this feedback:\n\n{text}", model=Label, title="Label")


@cf.task()
def store(sample_id: str, sentiment: str, topic: str) -> str:
    return f"{sample_id}:{sentiment}:{topic}"


@cf.workflow()
def annotate(sample_id: str, text: str):
    handle = label.submit(text=text)
    with cf.suspense():
        result = handle.result()
    store(sample_id, sentiment=result.sentiment, topic=result.topic)
