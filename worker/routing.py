"""Which destinations a trace is owed to: enabled, API-key filters, deterministic sampling."""

from __future__ import annotations

import hashlib
from typing import Any


def sample_point(trace: dict[str, Any]) -> float:
    """A stable point in [0, 1) per session (per trace without one): a session is kept or dropped whole."""
    key = trace.get("session_id")
    key = f"session:{key}" if key is not None else f"trace:{trace['id']}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def selects(route: dict[str, Any], trace: dict[str, Any]) -> bool:
    if not route["enabled"]:
        return False
    name = trace.get("api_key_name")
    if name in route["exclude_api_key_names"]:
        return False
    allowed = route["api_key_names"]
    if allowed is not None and name not in allowed:
        return False
    return route["sampling_rate"] >= 1.0 or sample_point(trace) < route["sampling_rate"]


def discard_reason(routes: list[dict[str, Any]], trace: dict[str, Any]) -> str:
    """Why a trace no destination selects is owed to none: ``no_destination`` (none enabled), ``sampled_out`` (one
    would take it but for its sampling rate), else ``filtered`` (every enabled one's filters refuse it)."""
    enabled = [route for route in routes if route["enabled"]]
    if not enabled:
        return "no_destination"
    if any(selects({**route, "sampling_rate": 1.0}, trace) for route in enabled):
        return "sampled_out"
    return "filtered"
