"""Which destinations a trace is owed to: enabled, API-key filters, deterministic sampling, filter rules."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import orjson

from worker.rules.match import TAKEN, Decision, Filter

FILTER_RULES = "filter_rules"
"""What ``Decision.by`` starts with when a destination's filter rules refused a trace (counted as ``filtered``)."""


def sample_point(trace: dict[str, Any]) -> float:
    """A stable point in [0, 1) per session (per trace without one): a session is kept or dropped whole."""
    key = trace.get("session_id")
    key = f"session:{key}" if key is not None else f"trace:{trace['id']}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@lru_cache(maxsize=4096)
def parsed(raw: bytes) -> dict[str, Any]:
    """A stored route (``Saved.route()``), with its filter rules compiled once per stored version. Read only."""
    route = orjson.loads(raw)
    groups = route.get("filter_rules")
    route["filter"] = Filter(groups) if groups else None
    return route


def decide(route: dict[str, Any], trace: dict[str, Any]) -> Decision:
    """Whether the destination of ``route`` takes ``trace``, and what refused it."""
    if not route["enabled"]:
        return Decision(False, "enabled")
    name = trace.get("api_key_name")
    if name in route["exclude_api_key_names"]:
        return Decision(False, "exclude_api_key_names")
    allowed = route["api_key_names"]
    if allowed is not None and name not in allowed:
        return Decision(False, "api_key_names")
    if route["sampling_rate"] < 1.0 and sample_point(trace) >= route["sampling_rate"]:
        return Decision(False, "sampling_rate")
    found: Filter | None = route.get("filter")
    return found.decide(trace) if found is not None else TAKEN


def selects(route: dict[str, Any], trace: dict[str, Any]) -> bool:
    return decide(route, trace).taken


def owed_to(routes: list[dict[str, Any]], traces: list[dict[str, Any]]) -> tuple[list[list[str]], dict[str, int]]:
    """Per trace, the destinations it is owed to; and per destination, how many traces its filter rules refused."""
    owed: list[list[str]] = []
    filtered: dict[str, int] = {}
    for trace in traces:
        taken = []
        for route in routes:
            decision = decide(route, trace)
            if decision.taken:
                taken.append(route["id"])
            elif decision.by is not None and decision.by.startswith(FILTER_RULES):
                filtered[route["id"]] = filtered.get(route["id"], 0) + 1
        owed.append(taken)
    return owed, filtered


def discard_reason(routes: list[dict[str, Any]], trace: dict[str, Any]) -> str:
    """Why a trace no destination selects is owed to none: ``no_destination`` (none enabled), ``sampled_out`` (one
    would take it but for its sampling rate), else ``filtered`` (every enabled one's filters refuse it)."""
    enabled = [route for route in routes if route["enabled"]]
    if not enabled:
        return "no_destination"
    if any(selects({**route, "sampling_rate": 1.0}, trace) for route in enabled):
        return "sampled_out"
    return "filtered"
