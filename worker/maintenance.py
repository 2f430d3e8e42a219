"""The heartbeat, inside every worker: once a second, the one worker holding a lease in Redis re-announces lost
work and probes parked destinations (the reconciler) and starts due batch cycles, exactly what ``tracedrop beat``
schedules, and trains the bodies' compression dictionary once its samples are in (worker/bodies.py). So any one
live worker keeps the system moving and beat is optional; with beat running as well, the reconciler's and the
batch tick's own throttles keep the two from announcing anything twice.

The lease is held for ``LEASE_MS`` and renewed every beat; a holder that dies hands the heartbeat to another worker
within that time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from typing import Any

from celery import signals
from redis import Redis

from worker import keys, redis_client
from worker.batch.tasks import batch_tick
from worker.bodies import Bodies
from worker.scripts import Scripts
from worker.settings import get_settings
from worker.tasks import reconcile

log = logging.getLogger("tracedrop.worker")

EVERY = 1.0
"""Seconds between heartbeats (the same as beat's schedule)."""
LEASE_MS = 5_000
"""How long the heartbeat stays with its worker without a renewal."""

class Heartbeat:
    """A daemon thread in a worker's main process; ``beat`` runs one heartbeat if this worker holds the lease."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.token = uuid.uuid4().hex
        self.scripts = Scripts(redis, "lease_hold", "lease_release")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def holds(self) -> bool:
        return bool(self.scripts.lease_hold(lease=keys.HEARTBEAT, token=self.token, ttl_ms=LEASE_MS))

    def beat(self) -> bool:
        """One heartbeat, if the lease is ours; whether it was."""
        if not self.holds():
            return False
        reconcile()
        batch_tick()
        Bodies(self.redis).train()
        return True

    def _run(self) -> None:
        while not self._stop.wait(EVERY):
            try:
                self.beat()
            except Exception as exc:  # Redis away for a moment: the next heartbeat tries again
                log.warning("heartbeat failed", extra={"error": type(exc).__name__})

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.scripts.lease_release(lease=keys.HEARTBEAT, token=self.token)


_heartbeat: Heartbeat | None = None


@signals.worker_ready.connect
def _started(**_: Any) -> None:
    global _heartbeat
    redis = redis_client.connect(get_settings().redis_url, socket_timeout=10, socket_connect_timeout=5)
    _heartbeat = Heartbeat(redis)
    _heartbeat.start()


@signals.worker_shutdown.connect
def _stopping(**_: Any) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()
