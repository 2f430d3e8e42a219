"""A destination's delivery state: the fields of ``td:s:{id}``, what each means, and its transitions.

The transitions are written once, in Lua (``worker/lua/lib/state.lua``), and run inside the outbox scripts of
per-trace delivery and batch files alike, atomically with what they record:

- **filtered**: traces its filter rules refused at ingest were counted (they are never owed to it).
- **accepted**: traces were owed to the destination; ``workspace`` names whose (the scripts that release records
  take their bytes off that workspace's count, ``keys.STORED_BYTES``).
- **written**: traces (in files, for batch) were written: healthy again, the failure count and the last error cleared.
- **slow**: a write has been in flight for long: one lane only until a write is fast again.
- **held**: a transient failure: nothing is attempted before ``hold_until``; ``failures`` counts them in a row.
- **parked**: a destination error: nothing is attempted until a probe (its connection test) passes, the first at
  ``next_probe_at``.
- **probe failed**: still parked; ``probe_failures`` counts them, and the probes back off.
- **resumed**: a probe or an update passed the connection test: unparked, nothing held, both counts back to zero.
- **dead-lettered**: traces the destination can never take were set aside.
- **replayed**: the dead letters are owed again: a transient failure's hold is lifted so they are tried at once
  (a parked destination stays parked).

``DestinationState`` is that hash parsed once; status, metrics, the page and the health decisions read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis import Redis

from worker import keys

COUNTERS = ("accepted", "delivered", "retried", "failed", "dead_lettered", "files", "filtered")
"""Totals since the destination was created: traces accepted for it, written, rescheduled after a transient
failure, refused by the destination (parking it), dead-lettered; batch files written; and traces its filter rules
refused at ingest (never owed to it)."""


@dataclass(frozen=True)
class DestinationState:
    counts: dict[str, int]
    failing: bool
    """The last attempt failed (and no write has succeeded since)."""
    parked: bool
    slow: bool
    failures: int
    """Transient failures in a row (the backoff grows with them)."""
    probe_failures: int
    """Failed probes since the destination was parked (the probe backoff grows with them)."""
    hold_until_ms: int
    """No attempt before this (Redis clock, ms); 0 when not held."""
    next_probe_at_ms: int | None
    last_success_at_ms: int | None
    last_error: dict[str, Any] | None
    """The last failure's code, message and time, whether it parked, and the retry delay."""

    @classmethod
    def parse(cls, raw: Mapping[Any, Any]) -> DestinationState:
        fields = {_text(k): _text(v) for k, v in raw.items()}

        def number(name: str) -> int | None:
            value = fields.get(name)
            return int(float(value)) if value else None

        return cls(
            counts={name: number(name) or 0 for name in COUNTERS},
            failing=fields.get("state") == "failing",
            parked=fields.get("parked") == "1",
            slow=fields.get("slow") == "1",
            failures=number("failures") or 0,
            probe_failures=number("probe_failures") or 0,
            hold_until_ms=number("hold_until") or 0,
            next_probe_at_ms=number("next_probe_at"),
            last_success_at_ms=number("last_success_at"),
            last_error=orjson.loads(fields["last_error"]) if fields.get("last_error") else None,
        )

    def label(self, *, enabled: bool = True) -> str:
        """The status's ``state``: ``disabled``, ``failing`` (parked ones too: ``parked`` says which) or ``healthy``."""
        if not enabled:
            return "disabled"
        return "failing" if self.failing else "healthy"

    def retry_at_ms(self, now_ms: int) -> int | None:
        """When a held destination is tried again; None unless a backoff runs now (a parked one waits for a probe)."""
        return self.hold_until_ms if self.hold_until_ms > now_ms and not self.parked else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def read(redis: Redis, destination_id: str) -> DestinationState:
    """The destination's state as it is now."""
    return DestinationState.parse(redis.hgetall(keys.stats(destination_id)))
