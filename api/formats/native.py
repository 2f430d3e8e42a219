"""tracedrop's own format: one trace object, or ``{"traces": [trace, ...]}``."""

from __future__ import annotations

from typing import Any

from api.formats.bounds import too_many_traces
from api.formats.model import Item, Undecodable

FORMAT = "native"


def is_envelope(body: Any) -> bool:
    return isinstance(body, dict) and "traces" in body and "id" not in body


def read(body: Any, max_items: int) -> list[Item]:
    if not is_envelope(body):
        return [Item(FORMAT, "", body)]
    traces = body["traces"]
    if not isinstance(traces, list):
        raise Undecodable(FORMAT, "traces", "must be a list of trace objects")
    if not traces:
        raise Undecodable(FORMAT, "traces", "must not be empty")
    if len(traces) > max_items:
        raise too_many_traces(len(traces), max_items)
    return [Item(FORMAT, "", trace) for trace in traces]
