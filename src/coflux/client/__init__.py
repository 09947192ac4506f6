"""A typed HTTP client of the Coflux server, for the CLI, tests and users.

::

    from coflux.client import Client

    with Client("localhost:7777") as client:
        run = client.submit("demo", "production", "hello", "greet", [])
        print(client.wait_result("demo", run.run_id).outcome)
"""

from coflux.client.client import UNSET, Client, base_url
from coflux.client.errors import ApiError, ServerUnavailable
from coflux.views import CancelResult, LogPage, RunResult, RunSubmitted

__all__ = [
    "UNSET",
    "ApiError",
    "CancelResult",
    "Client",
    "LogPage",
    "RunResult",
    "RunSubmitted",
    "ServerUnavailable",
    "base_url",
]
