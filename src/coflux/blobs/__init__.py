"""Content-addressed blob stores: large values and asset files, keyed by sha256."""
