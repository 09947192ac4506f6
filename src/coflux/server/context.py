"""What every handler of the server shares: projects, sessions, topics, blobs, tokens."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from coflux.blobs.base import BlobStore
from coflux.server.projects import Projects
from coflux.server.sessions import SessionRegistry
from coflux.server.topics import Topics


@dataclass(slots=True)
class ServerContext:
    projects: Projects
    sessions: SessionRegistry
    topics: Topics
    blobs: BlobStore
    tokens: frozenset[str]

    def authorised(self, headers: Mapping[str, str]) -> bool:
        """Whether a request may proceed: always when no tokens are configured."""
        if not self.tokens:
            return True
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        # Constant-time comparison against every configured token.
        return any(hmac.compare_digest(token, known) for known in self.tokens)
