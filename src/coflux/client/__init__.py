"""A typed HTTP client of the Coflux server, for the CLI, tests and users.

::

    from coflux.client import Client

    with Client("localhost:7777") as client:
        run = client.submit("demo", "production", "hello", "greet", [])
        print(client.wait_result("demo", run.run_id).outcome)
"""

from coflux.client.client import UNSET, Client, base_url
from coflux.client.errors import ApiError, ServerUnavailable
from coflux.client.models import Cancelled, LogPage, RunResult, Submission

__all__ = [
    "UNSET",
    "ApiError",
    "Cancelled",
    "Client",
    "LogPage",
    "RunResult",
    "ServerUnavailable",
    "Submission",
    "base_url",
]
