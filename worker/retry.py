"""Retry policy as data: how long a destination waits after transient failures, and how often it is probed."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits a random time in [base*f^n / 2, base*f^n], capped."""

    base_ms: int
    cap_ms: int
    factor: float = 2.0

    def delay_ms(self, attempt: int) -> int:
        ceiling = min(self.cap_ms, self.base_ms * self.factor ** max(0, attempt))
        return int(random.uniform(ceiling / 2, ceiling))


TRANSIENT = Backoff(base_ms=500, cap_ms=30_000)
"""After the n-th consecutive transient failure of a destination, its traces wait this long."""
PROBE = Backoff(base_ms=5_000, cap_ms=120_000)
"""A parked destination is probed (connection test) this often, backing off while it keeps failing."""
RETRY_AFTER_CAP_MS = 300_000
"""A destination's ``Retry-After`` is honoured up to this long (5 minutes)."""
