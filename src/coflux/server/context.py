"""What every handler of the server shares: projects, sessions, topics, blobs, tokens."""

from __future__ import annotations

from dataclasses import dataclass

from coflux.blobs.base import BlobStore
from coflux.server.auth import Authenticator
from coflux.server.projects import Projects
from coflux.server.sessions import SessionRegistry
from coflux.server.topics import Topics


@dataclass(slots=True)
class ServerContext:
    projects: Projects
    sessions: SessionRegistry
    topics: Topics
    blobs: BlobStore
    authenticator: Authenticator
    address: str = ""  # this server's URL for the others sharing its database
