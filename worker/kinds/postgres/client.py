"""The only module that opens PostgreSQL connections: psycopg (libpq) behind the egress fence, and a small pool per
destination in each worker process.

Every connection resolves the host itself, checks every address (``egress.connect_address``) and gives libpq the
checked address as ``hostaddr`` beside the name as ``host``: libpq connects to that address and never resolves the
name again (no DNS rebinding), and verifies the server's certificate against the name. ``sslmode`` left empty is
``verify-full`` for a public address (the system's CAs, ``sslrootcert=system``) and ``prefer`` for a private one;
the weak modes (``disable``, ``prefer``) are refused unless private endpoints are allowed.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

import psycopg

from worker.egress import CONNECT_TIMEOUT, connect_address
from worker.errors import EndpointForbidden, EndpointUnresolvable
from worker.kinds.postgres.config import PostgresConfig
from worker.kinds.postgres.errors import from_connect

STATEMENT_TIMEOUT_MS = 30_000
"""A statement (one batch's insert) that runs longer is cancelled by the server and the batch retried."""
LOCK_TIMEOUT_MS = 10_000
"""A statement that waits this long for a lock (a migration holding the table) gives up and is retried."""
POOL_SIZE = 2
"""Connections one worker process keeps per destination at most: the two lanes of a drain (runtime.LANES_PER_TASK)
each write on one."""
IDLE_SECONDS = 60.0
"""A pooled connection unused this long is closed (so a deleted destination's connections go too)."""
WEAK_MODES = frozenset({"disable", "prefer"})


def options(config: PostgresConfig, *, allow_private: bool) -> dict[str, Any]:
    """libpq's connection parameters for ``config``: the checked address, the name kept for TLS, the mode."""
    try:
        address = connect_address(config.host, config.port, allow_private=allow_private)
    except OSError as exc:
        raise EndpointUnresolvable(f"The host name {config.host!r} does not resolve: check host.") from exc
    private = not ip_address(address).is_global
    mode = config.sslmode or ("prefer" if private else "verify-full")
    if mode in WEAK_MODES and not allow_private:
        raise EndpointForbidden(f"sslmode {mode} may send the password unencrypted: use require, verify-ca or "
                                "verify-full (the weak modes only with private endpoints allowed).")
    found = {
        "host": config.host, "hostaddr": address, "port": config.port, "dbname": config.database,
        "user": config.user, "password": config.password.get_secret_value(), "sslmode": mode,
        "connect_timeout": CONNECT_TIMEOUT, "application_name": "tracedrop", "gssencmode": "disable",
        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}",
        "keepalives_idle": 30, "target_session_attrs": "read-write",
    }
    if mode.startswith("verify"):
        found["sslrootcert"] = "system"
    return found


def connect(config: PostgresConfig, *, allow_private: bool) -> psycopg.Connection[Any]:
    """A new connection (not autocommit), or the DeliveryError that kept it from opening."""
    try:
        return psycopg.connect(**options(config, allow_private=allow_private), prepare_threshold=None)
    except psycopg.Error as exc:
        raise from_connect(exc, user=config.user, database=config.database) from exc


@dataclass
class Pool:
    """At most POOL_SIZE connections to one destination; connections are opened in the caller's thread, so a
    failure to connect is the caller's, with its reason."""

    config: PostgresConfig
    allow_private: bool
    fingerprint: bytes
    idle: deque[tuple[psycopg.Connection[Any], float]] = field(default_factory=deque)
    slots: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(POOL_SIZE))
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False
    used_at: float = field(default_factory=time.monotonic)

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one batch; it goes back to the pool if it came back clean, else it is closed."""
        with self.slots:
            with self.lock:
                found = self.idle.pop()[0] if self.idle else None
                self.used_at = time.monotonic()
            connection = found if found is not None and not found.closed else \
                connect(self.config, allow_private=self.allow_private)
            try:
                yield connection
            finally:
                clean = not connection.closed and connection.info.transaction_status == \
                    psycopg.pq.TransactionStatus.IDLE
                with self.lock:
                    if clean and not self.closed:
                        self.idle.append((connection, time.monotonic()))
                        connection = None  # type: ignore[assignment]
                if connection is not None:
                    connection.close()

    def close_idle(self, *, older_than: float = 0.0) -> None:
        """Close the pooled connections unused for ``older_than`` seconds (all of them by default)."""
        cutoff = time.monotonic() - older_than
        with self.lock:
            stale = [c for c, at in self.idle if at <= cutoff]
            self.idle = deque((c, at) for c, at in self.idle if at > cutoff)
        for connection in stale:
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        """Close every pooled connection; one in use is closed when it comes back."""
        self.closed = True
        self.close_idle()


class Pools:
    """One pool per destination id for this process; a destination whose connection settings changed gets a new
    pool and the old one is closed; a sweeper thread closes connections idle for IDLE_SECONDS."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._pools: dict[str, Pool] = {}
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None

    def get(self, destination_id: str, config: PostgresConfig) -> Pool:
        fingerprint = hashlib.sha256(config.model_dump_json(include=set(config.CONNECTION) - {"password"}).encode()
                                     + b"\0" + config.password.get_secret_value().encode()).digest()
        with self._lock:
            pool = self._pools.get(destination_id)
            if pool is not None and pool.fingerprint == fingerprint:
                return pool
            if pool is not None:
                pool.close()
            pool = self._pools[destination_id] = Pool(config, self.allow_private, fingerprint)
            if self._sweeper is None:
                self._sweeper = threading.Thread(target=self._sweep, name="postgres-pools", daemon=True)
                self._sweeper.start()
            return pool

    def _sweep(self) -> None:
        while True:
            time.sleep(IDLE_SECONDS / 4)
            with self._lock:
                pools = list(self._pools.items())
            for destination_id, pool in pools:
                pool.close_idle(older_than=IDLE_SECONDS)
                if time.monotonic() - pool.used_at > IDLE_SECONDS:
                    with self._lock:
                        if self._pools.get(destination_id) is pool:
                            del self._pools[destination_id]
                    pool.close()

