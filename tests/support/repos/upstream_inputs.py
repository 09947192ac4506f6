"""The upstream Coflux 0.11 inputs docs' samples (docs/docs/inputs.md), written as
that page writes them, run unchanged by tests/integration/test_inputs.py. The
page's fragments (lines that are not a whole workflow) are each the body of a
workflow named after its section, and the names they use (``do_deploy``,
``store``, ``process``, ``long_text``) are defined here; the page's second
``annotate`` (suspending) is in upstream_inputs_suspense.py, as it has the same
name. The workflows after the samples are this project's own checks."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

import coflux as cf


@cf.task()
def do_deploy(service: str) -> str:
    return f"deployed {service}"


@cf.task()
def store(sample_id: str, sentiment: str, topic: str) -> str:
    return f"{sample_id}:{sentiment}:{topic}"


@cf.task()
def process(result: object) -> str:
    return repr(result)


long_text = "A long transcript. " * 10


# "Defining a prompt"
approve = cf.Prompt("Approve deployment of {service}?", title="Deployment")


@cf.workflow()
def deploy(service: str):
    approve(service=service)  # blocks until approved; raises InputDismissed if dismissed
    do_deploy(service)


# "Templates and placeholders"
class Summary(BaseModel):
    summary: str


summarise = cf.Prompt(
    """
    ## Summarise {meeting}

    Transcript:

    {{transcript}}
    """,
    model=Summary,
)


@cf.workflow()
def templates_and_placeholders():
    summarise(meeting="Weekly sync", transcript=long_text)


# "Typed inputs (Pydantic models)"
class Label(BaseModel):
    sentiment: Literal["positive", "neutral", "negative"]
    topic: Literal["product", "shipping", "support", "other"]
    confidence: int = Field(ge=1, le=5)
    notes: str | None = None


label = cf.Prompt("Label this feedback:\n\n{text}", model=Label, title="Label")


@cf.workflow()
def annotate(sample_id: str, text: str):
    result = label(text=text)  # result is a Label instance
    store(sample_id, sentiment=result.sentiment, topic=result.topic)


# "Submitting without blocking"
@cf.workflow()
def submitting_without_blocking():
    handle = label.submit(text="Shipping was slow but the product is great.")

    # ...do other work...

    result = handle.result()  # noqa: F841


@cf.workflow()
def polling(text: str):
    handle = label.submit(text=text)

    if (result := handle.poll()) is not None:
        process(result)
    else:
        cf.log_info("Still waiting for a label")


# "Memoisation"
@cf.workflow()
def memoisation(sample_id: str, text: str):
    label.with_key(f"sample-{sample_id}").submit(
        text=text,
        requested_at=datetime.now().isoformat(),  # shown in the prompt; excluded from the key
    )


# "Routing"
deploy_prod = cf.Prompt(
    "Deploy {service} to production?",
    requires={"role": "release-manager"},
)


@cf.workflow()
def routing(service: str):
    deploy_prod(service=service)


# "Customising the prompt"
@cf.workflow()
def customising(text: str):
    label.with_initial(Label(sentiment="positive", topic="product", confidence=4)).submit(text=text)


# --- this project's checks ------------------------------------------------------------


@cf.workflow()
def labelled(text: str) -> list[object]:
    """What a model prompt returns: an instance of the model."""
    result = label(text=text)
    return [type(result).__name__, result.sentiment, result.confidence, result.notes]


@cf.workflow()
def guarded(service: str) -> str:
    """A dismissal reaches the code as ``cf.InputDismissed``."""
    try:
        approve.with_actions("Ship", "Hold")(service=service)
    except cf.InputDismissed as e:
        return f"dismissed: {e}"
    return do_deploy(service)


@cf.workflow()
def keyed_twice(sample_id: str) -> list[object]:
    """Two asks with one key (and a varying placeholder) are one input."""
    first = label.with_key(f"sample-{sample_id}").submit(text="a", at=datetime.now().isoformat())
    second = label.with_key(f"sample-{sample_id}").submit(text="b", at="later")
    answer = second.result()
    return [first.id == second.id, first.result() == answer, answer.topic]


when = cf.Prompt("When, for {what}?", model=dt.date)
count = cf.Prompt("How many?", model=int)


@cf.workflow()
def primitives(what: str) -> list[object]:
    """Primitive models: a date comes back as a ``date``."""
    day = when(what=what)
    return [type(day).__name__, day.isoformat(), count() + 1]
