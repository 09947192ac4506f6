"""Live subscriptions over the ``/api/live`` WebSocket (asyncio).

``subscribe_run`` yields a ``RunSnapshot`` first, then ``RunFacts`` as the run
changes, and returns after the server says the run ended. Only the facts a
client can use to follow a run are decoded; others are skipped, so a server
that publishes more kinds of facts does not break older clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import msgspec
import websockets
from websockets.asyncio.client import connect

from coflux.client.client import base_url
from coflux.client.errors import ApiError, ServerUnavailable
from coflux.orchestration.effects import (
    ExecutionCreated,
    ExecutionTransitioned,
    MetricsRecorded,
    OutcomeRecorded,
    StepCreated,
)
from coflux.views import ErrorDetail, RunView

RunFact = StepCreated | ExecutionCreated | ExecutionTransitioned | OutcomeRecorded | MetricsRecorded
_fact_decoder = msgspec.json.Decoder(RunFact)


class _LiveMessage(msgspec.Struct, frozen=True):
    topic: str | None = None
    snapshot: RunView | None = None
    facts: list[msgspec.Raw] | None = None
    ended: bool = False
    error: ErrorDetail | None = None


_message_decoder = msgspec.json.Decoder(_LiveMessage)


@dataclass(frozen=True)
class RunSnapshot:
    run: RunView


@dataclass(frozen=True)
class RunFacts:
    facts: list[RunFact]


LiveEvent = RunSnapshot | RunFacts


def live_url(host: str) -> str:
    """The ``ws(s)://`` URL of the live endpoint of ``host``."""
    url = base_url(host)
    scheme = "wss" if url.startswith("https://") else "ws"
    return f"{scheme}://{url.split('://', 1)[1]}/api/live"


def _decode_facts(raws: list[msgspec.Raw]) -> list[RunFact]:
    facts: list[RunFact] = []
    for raw in raws:
        try:
            facts.append(_fact_decoder.decode(raw))
        except msgspec.ValidationError:
            continue  # a kind of fact we do not follow
    return facts


async def subscribe_run(
    host: str, token: str | None, project: str, run_id: str
) -> AsyncIterator[LiveEvent]:
    """Follow one run live until it ends.

    Raises:
        ServerUnavailable: the server could not be reached.
        ApiError: the server refused the subscription (unknown run, ...).
    """
    headers = {"Authorization": f"Bearer {token}"} if token else None
    request = msgspec.json.encode({"subscribe": "run", "project": project, "run_id": run_id})
    try:
        async with connect(live_url(host), additional_headers=headers, proxy=None) as ws:
            await ws.send(request.decode())
            async for raw in ws:
                message = _message_decoder.decode(raw)
                if message.error is not None:
                    raise ApiError(400, message.error.reason, message.error.message)
                if message.snapshot is not None:
                    yield RunSnapshot(message.snapshot)
                if message.facts:
                    yield RunFacts(_decode_facts(message.facts))
                if message.ended:
                    return
    except websockets.InvalidStatus as e:
        status = e.response.status_code
        raise ApiError(
            status, f"http_{status}", f"live subscription refused: HTTP {status}"
        ) from None
    except websockets.ConnectionClosedError as e:
        raise ServerUnavailable(host, f"live connection lost ({e})") from None
    except (OSError, websockets.InvalidHandshake) as e:
        raise ServerUnavailable(host, str(e)) from None
    except msgspec.DecodeError as e:
        raise ApiError(0, "bad_response", f"unexpected live message: {e}") from None
