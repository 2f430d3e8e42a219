"""What ingest reads for every request and keeps between requests, per api process: which workspace an ingest key
belongs to, and each workspace's routing (worker.store.Routing).

Neither is trusted to store anything: the accept script checks, atomically with storing, that the key still exists
and that the routing is still at the version it was read at (worker.outbox.Guard); when either fails, nothing is
stored, and the routing is read again (a revoked key answers 401). So a change of destinations or of the broadcast
switch applies to the very next trace, and a revoked key stores nothing from the moment it is revoked. A request
that stores nothing may be answered with what was read up to ``KEY_KEEP_S`` before: a connection test with a key
revoked meanwhile still passes for that long, and a workspace with broadcast off is read afresh every time.
"""

from __future__ import annotations

import threading
import time

from redis import Redis

from worker import store
from worker.store import Routing

KEY_KEEP_S = 5.0
"""How long a key's workspace is used without asking Redis again."""
MAX_ENTRIES = 10_000
"""Entries kept of each; past that, everything is forgotten and read again."""


class IngestKeys:
    def __init__(self) -> None:
        self._found: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def kept(self, digest: str) -> str | None:
        """The key's workspace if it was read lately; None when it must be read."""
        found = self._found.get(digest)
        return found[1] if found is not None and time.monotonic() - found[0] < KEY_KEEP_S else None

    def workspace(self, redis: Redis, digest: str) -> str | None:
        """The key's workspace (None for an unknown or revoked key), read now."""
        now = time.monotonic()
        workspace = store.resolve_key_digest(redis, digest)
        with self._lock:
            if len(self._found) >= MAX_ENTRIES:
                self._found.clear()
            if workspace is None:
                self._found.pop(digest, None)
            else:
                self._found[digest] = (now, workspace)
        return workspace

    def forget(self, digest: str) -> None:
        self._found.pop(digest, None)


class Routings:
    def __init__(self) -> None:
        self._found: dict[str, Routing] = {}
        self._lock = threading.Lock()

    def kept(self, workspace: str) -> Routing | None:
        """The workspace's routing as last read with broadcast on; None when it must be read."""
        return self._found.get(workspace)

    def routing(self, redis: Redis, workspace: str) -> Routing:
        """The workspace's routing as last read with broadcast on, else read now."""
        found = self._found.get(workspace)
        if found is not None:
            return found
        found = store.routing(redis, workspace=workspace)
        with self._lock:
            if len(self._found) >= MAX_ENTRIES:
                self._found.clear()
            if found.enabled:
                self._found[workspace] = found
        return found

    def forget(self, workspace: str) -> None:
        self._found.pop(workspace, None)
