"""The ``coflux`` command line: a thin layer over the HTTP client, the server and the agent."""
