"""What every dialect's span shares: its ids, the attributes naming the trace, and what a dialect is. Pure.

Ids are a pure function of the trace, so a redelivery carries the same ones: ``traceId`` is the first 16 bytes of
SHA-256 of the document's trace id (``trace.trace_id``, else the trace's ``id``), ``spanId`` the first 8 bytes of
SHA-256 of the trace's ``id``; both ids also travel as text in ``tracedrop.trace_id`` and ``tracedrop.id``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

Attribute = tuple[str, Any]


class Dialect(Protocol):
    def __call__(self, trace: dict[str, Any], *, privacy_mode: bool) -> list[Attribute]:
        """A trace's span attributes, in a stable order (a redelivery encodes to the same bytes); no content
        (prompts, completions) under ``privacy_mode``."""


def ids(trace: dict[str, Any]) -> tuple[bytes, bytes]:
    """(traceId, spanId) of a trace's span."""
    document_id = trace.get("trace", {}).get("trace_id", trace["id"])
    return (hashlib.sha256(str(document_id).encode()).digest()[:16],
            hashlib.sha256(trace["id"].encode()).digest()[:8])


def tracedrop_ids(trace: dict[str, Any]) -> list[Attribute]:
    """``tracedrop.id`` and ``tracedrop.trace_id``: every dialect's first attributes."""
    return [("tracedrop.id", trace["id"]),
            ("tracedrop.trace_id", str(trace.get("trace", {}).get("trace_id", trace["id"])))]
