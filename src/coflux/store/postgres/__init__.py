"""The PostgreSQL store: every project of a server in one database (``catalog.py``)."""
