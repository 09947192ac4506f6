"""Durable storage of projects: the interface (``base``), its backends, migrations."""
