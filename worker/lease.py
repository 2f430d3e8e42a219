"""Leases of a drain in progress: short, renewed while the PUTs run, so a dead worker's traces come back soon
and a slow PUT never loses its lease to a second writer.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

from worker.outbox import Outbox

log = logging.getLogger("tracedrop.worker")

LEASE_MS = 10_000
"""A claimed trace (and its lane) is due again this long after the last renewal if its worker vanished."""
RENEW_MS = 1_000
"""How often a batch still in flight renews its lease."""
SLOW_MS = 2_000
"""A batch in flight for longer marks its destination slow: one lane only, until a batch is fast again."""
MAX_HOLD_MS = 600_000
"""A batch is renewed for at most this long; after that its traces may be claimed again (same keys, same bytes)."""


class Keeper:
    """Renews one in-flight batch's lease from a background thread; a context manager around the PUTs."""

    def __init__(self, outbox: Outbox, destination_id: str, lane: str, trace_ids: list[int]) -> None:
        self.outbox = outbox
        self.destination_id = destination_id
        self.lane = lane
        self.trace_ids = trace_ids
        self.started = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)

    @property
    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.started) * 1000

    @property
    def slow(self) -> bool:
        return self.elapsed_ms >= SLOW_MS

    def __enter__(self) -> Keeper:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(RENEW_MS / 1000) and self.elapsed_ms < MAX_HOLD_MS:
            try:
                held = self.outbox.renew(self.destination_id, self.lane, self.trace_ids, lease_ms=LEASE_MS,
                                         slow=self.slow)
            except Exception as exc:
                log.warning("lease renewal failed", extra={"destination": self.destination_id,
                                                           "error": type(exc).__name__})
                continue
            if not held:
                log.warning("lease lost", extra={"destination": self.destination_id, "count": len(self.trace_ids)})
                return
