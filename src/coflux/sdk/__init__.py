"""The SDK behind ``import coflux``: decorators, targets, handles, the execution
context (and its metrics), and repository manifests. ``coflux/__init__.py`` re-exports the public
names; import those from ``coflux``, not from here.
"""
