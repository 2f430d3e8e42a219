"""One client per destination per process, rebuilt when its connection settings change or after CLIENT_TTL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import orjson

from worker.errors import EndpointForbidden
from worker.kinds.s3.config import S3Config

CLIENT_TTL = 60.0
"""Seconds a client is reused before it is rebuilt (each new connection it opens is checked regardless)."""
_FINGERPRINT = ("bucket_name", "region", "endpoint", "access_key_id", "session_token")

C = TypeVar("C")


class ClientCache(Generic[C]):
    """Clients made by ``build(config, allow_private=...)``, one per destination id."""

    def __init__(self, build: Callable[..., C]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[C, bytes, float]] = {}

    def get(self, key: str, config: S3Config, *, allow_private: bool) -> C:
        fingerprint = orjson.dumps(config.model_dump(mode="json", include=set(_FINGERPRINT)))
        fingerprint += config.access_secret.get_secret_value().encode()
        now = time.monotonic()
        with self._lock:
            cached = self._clients.get(key)
            if cached and cached[1] == fingerprint and now - cached[2] < CLIENT_TTL:
                return cached[0]
            try:
                client = self._build(config, allow_private=allow_private)
            except EndpointForbidden:
                self._clients.pop(key, None)
                raise
            self._clients[key] = (client, fingerprint, now)
            return client
