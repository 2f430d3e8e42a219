"""Destination health, for every kind and both modes: what a failed attempt means and when to try again.

- A transient failure (connection, timeout, 5xx, throttling) holds the destination for a backoff that grows with
  its consecutive failures (``TRANSIENT``), or for as long as its ``Retry-After`` said if that is longer; its
  traces stay owed and are tried again after it.
- A destination error (credentials, bucket, region, endpoint refused) parks it: nothing is attempted until a probe
  (the kind's connection test, at ``PROBE`` backoff) passes, or an update passes the test; then it resumes.
- A trace the destination can never take goes to dead letters with the reason.

This module decides; the outbox scripts carry out the decision atomically in Redis, by the transitions of
worker/state.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis

from worker import state, store
from worker.errors import DeliveryError, TransientError
from worker.retry import PROBE, TRANSIENT


@dataclass(frozen=True)
class Setback:
    """What a failed attempt does to its destination: park it (probe after ``delay_ms``) or hold it that long."""

    park: bool
    delay_ms: int
    error: dict[str, Any]
    """The destination's ``last_error``: code, message, time, and whether it is parked or retrying."""


def reason(error: DeliveryError) -> dict[str, Any]:
    """The code, message and time of a failure: a dead letter's reason and the core of ``last_error``."""
    return {"code": error.code, "message": error.message, "at": store.now_iso()}


class Health:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def setback(self, destination_id: str, error: DeliveryError) -> Setback:
        """The decision after an attempt failed with ``error``: transient errors hold, all others park."""
        if not isinstance(error, TransientError):
            return Setback(park=True, delay_ms=PROBE.delay_ms(0), error={**reason(error), "parked": True})
        failures = state.read(self.redis, destination_id).failures
        delay = max(TRANSIENT.delay_ms(failures), error.retry_after_ms or 0)  # Retry-After, capped when read
        return Setback(park=False, delay_ms=delay, error={**reason(error), "parked": False, "retry_in_ms": delay})

    def probe_failed(self, destination_id: str, error: DeliveryError) -> Setback:
        """A parked destination's probe failed: stay parked, probe again later (backing off with every failure)."""
        failures = state.read(self.redis, destination_id).probe_failures + 1
        return Setback(park=True, delay_ms=PROBE.delay_ms(failures), error={**reason(error), "parked": True})
