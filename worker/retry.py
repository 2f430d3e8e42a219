"""Retry policy as data: how long a destination waits after transient failures, and how often it is probed."""

from __future__ import annotations

import email.utils
import random
import time
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


def retry_after_ms(value: str | None, *, now: float | None = None) -> int | None:
    """``Retry-After`` (seconds or an HTTP date) in milliseconds, capped at RETRY_AFTER_CAP_MS; None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = int(value) * 1000
    else:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        delay = int((when - (time.time() if now is None else now)) * 1000)
    return max(0, min(delay, RETRY_AFTER_CAP_MS))
