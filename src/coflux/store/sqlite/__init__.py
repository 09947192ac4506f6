"""The embedded SQLite backend: one database file per project."""
