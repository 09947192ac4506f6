"""HTTP API handlers, one module per resource; the route table is in ``server.app``."""
