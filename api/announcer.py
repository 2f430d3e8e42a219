"""Announcing stored traces to the workers, off the request: a request hands its destinations' new trace ids to the
``Announcer`` and answers; a thread of the Announcer's own sends them, coalesced, at most one message per
destination every ``EVERY_S`` (naming up to ``MAX_IDS`` of the traces stored meanwhile, to be claimed first).

A request never waits for the broker, and a publish (a kombu message, the dearest part of a one-trace request) is
shared by every request of the interval; requests to a destination already announced and being drained hand it
nothing (worker/lua/accept.lua). Losing an announcement loses nothing: the outbox holds the traces, and the
workers' reconciler announces whatever is owed and unannounced (docs/delivery.md).
"""

from __future__ import annotations

import logging
import threading
import time

from api.deps import Announce

EVERY_S = 0.01
"""How long the thread gathers announcements before sending them: the most it adds to a trace's delivery."""
MAX_IDS = 1000
"""Trace ids one message names at most; the rest are claimed in their turn."""
CLOSE_S = 5.0

log = logging.getLogger("tracedrop.api")


class Announcer:
    """Callable as an ``Announce``; ``close()`` sends what is pending and stops the thread."""

    def __init__(self, send: Announce) -> None:
        self._send = send
        self._pending: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
        self._thread.start()

    def __call__(self, destination_id: str, trace_ids: list[int]) -> None:
        with self._lock:
            ids = self._pending.setdefault(destination_id, [])
            ids.extend(trace_ids[:MAX_IDS - len(ids)])
        self._wake.set()

    def _run(self) -> None:
        while not self._closing:
            self._wake.wait()
            time.sleep(EVERY_S)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Send every pending announcement now, one message per destination."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for destination_id, ids in pending.items():
            try:
                self._send(destination_id, ids)
            except Exception:
                log.warning("announce failed; the reconciler will pick these up",
                            extra={"destination": destination_id, "count": len(ids)})

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join(timeout=CLOSE_S)
        self.flush()
