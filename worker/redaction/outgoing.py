"""What a destination receives: its stored traces as its redaction leaves them. Every writer gets its traces from
here (per-trace delivery through ``claimed``, batch files through ``trace``), so every kind redacts, present and
future, with no code of its own; the stored trace and the other destinations keep the original."""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from worker.outbox import Claimed
from worker.redaction.redact import Redactor


class Redacting(Protocol):
    @property
    def redactor(self) -> Redactor | None: ...


def trace(destination: Redacting, stored: dict[str, Any]) -> dict[str, Any]:
    """A stored trace (parsed) as ``destination`` may receive it."""
    redactor = destination.redactor
    return stored if redactor is None else redactor.apply(stored)


def claimed(destination: Redacting, traces: list[Claimed]) -> list[Claimed]:
    """Claimed traces as ``destination`` may receive them; one that cannot be read is passed on as it is, for its
    writer to refuse by its own rules (it cannot leak: nothing in it can be rendered)."""
    redactor = destination.redactor
    if redactor is None:
        return traces
    out = []
    for item in traces:
        try:
            body = orjson.dumps(redactor.apply(orjson.loads(item.body)))
        except orjson.JSONDecodeError:
            body = item.body
        out.append(Claimed(item.trace_id, body))
    return out
