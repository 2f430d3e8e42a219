"""The batch record, Aperture's export schema ver 2. Pure: stored trace in, record dict out.

The record is format-neutral: ``timestamp`` is a timezone-aware ``datetime`` (CBOR writes it as an RFC 3339 date,
tag 0; JSON lines as ``2024-01-15T10:00:00.000Z``). A quantity the trace did not carry is omitted, never written
as zero or an empty string.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from worker.trace import without_secret_headers

VERSION = 2
_USAGE = (("input", "prompt_tokens"), ("output", "completion_tokens"), ("cached", "cached_tokens"),
          ("reasoning", "reasoning_tokens"))
_COST = ("input", "output", "total")
_IDENTITY = ("login_name", "node_id", "tags")
_EXTENSION = ("provider", "finish_reason", "user", "api_key_name", "time_to_first_token_ms", "trace", "level",
              "status_message")
_USAGE_EXTRA = ("total_tokens", "cache_write_tokens")


def build_record(trace_id: int, trace: dict[str, Any], *, privacy_mode: bool) -> dict[str, Any]:
    """One ver 2 record for a stored trace; ``trace_id`` (tracedrop's integer sequence) becomes ``id``.

    Privacy mode removes the request and response bodies from ``capture``; headers, usage, cost, timing, model
    and ids are kept.
    """
    record: dict[str, Any] = {
        "id": trace_id,
        "ver": VERSION,
        "timestamp": datetime.fromtimestamp(trace["timestamp"] / 1000, tz=UTC),
        "identity": {k: trace["identity"][k] for k in _IDENTITY if k in trace.get("identity", {})},
        "model": trace["model"],
    }
    _put(record, "api_type", trace.get("api_type"))
    usage = trace.get("usage", {})
    record["usage"] = {name: usage[field] for name, field in _USAGE if field in usage}
    cost = trace.get("cost", {})
    if any(k in cost for k in _COST):
        record["estimated_cost"] = {k: cost[k] for k in _COST if k in cost}
    _put(record, "duration_ms", trace.get("duration_ms"))
    record["capture_id"] = trace["id"]
    for field in ("session_id", "path", "status_code"):
        _put(record, field, trace.get(field))
    record["capture"] = capture(trace, privacy_mode=privacy_mode)
    extension = {k: trace[k] for k in _EXTENSION if k in trace}
    extension.update({k: usage[k] for k in _USAGE_EXTRA if k in usage})
    if extension:
        record["tracedrop"] = extension
    return record


def capture(trace: dict[str, Any], *, privacy_mode: bool) -> dict[str, Any]:
    """Request and response: headers (never a secret one) and, outside privacy mode, the JSON bodies."""
    headers = trace.get("headers", {})
    result: dict[str, Any] = {}
    for side in ("request", "response"):
        part: dict[str, Any] = {"headers": without_secret_headers(headers.get(side) or {})}
        if not privacy_mode and side in trace:
            part["body"] = trace[side]
        result[side] = part
    return result


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value
