"""The Datadog dialect: a trace as one LLM span of Datadog's LLM Observability spans API, and a request of such spans.
Pure: stored traces in, JSON-able dicts out.

Names from the HTTP API reference (https://docs.datadoghq.com/llm_observability/instrumentation/api/: the body
``{"data": {"type": "span", "attributes": {"ml_app", "tags", "spans"}}}``; a span's ``span_id``, ``trace_id``,
``parent_id`` (``undefined`` for a root), ``name``, ``start_ns``, ``duration`` (ns), ``status``, ``session_id``,
``tags``, ``meta`` {``kind``, ``error``, ``input``, ``output``, ``metadata``} and ``metrics``; an IO's ``messages``
(``content`` a string) or ``value``; ``model_name``, ``model_provider``, ``temperature``, ``max_tokens`` as metadata
keys; token metrics and ``time_to_first_token`` in seconds). Cache and reasoning token counts and costs in dollars:
the SDK reference's "Monitoring costs" (https://docs.datadoghq.com/llm_observability/instrumentation/sdk/
#monitoring-costs) and the Cost page (https://docs.datadoghq.com/llm_observability/monitoring/cost/).

Ids are those of tracedrop's OTLP spans (``worker.otlp.common.ids``), written as Datadog's SDKs write them: the trace
id as 32 hex digits, the span id in decimal. Content (``meta.input``, ``meta.output``) is left out under privacy mode.
"""

from __future__ import annotations

from typing import Any

import orjson

from worker.document import custom_metadata, level, model_parameters, request_input, response_output
from worker.otlp.common import ids

KIND = "llm"
ROOT = "undefined"
"""The ``parent_id`` of a root span."""
METRICS = (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens"),
           ("total_tokens", "total_tokens"), ("cached_tokens", "cache_read_input_tokens"),
           ("cache_write_tokens", "cache_write_input_tokens"), ("reasoning_tokens", "reasoning_output_tokens"))
"""A trace's usage -> the span's token metrics."""
COSTS = (("input", "input_cost"), ("output", "output_cost"), ("total", "total_cost"))
"""A trace's cost -> the span's cost metrics (dollars)."""
_METADATA = (("model", "model_name"), ("provider", "model_provider"), ("api_type", "api_type"),
             ("status_code", "http_status_code"), ("finish_reason", "finish_reason"), ("path", "path"))
_TAGS = (("user", "user_id"), ("api_key_name", "api_key_name"))


def body(traces: list[dict[str, Any]], *, ml_app: str, privacy_mode: bool) -> dict[str, Any]:
    """One request of the spans API carrying ``traces``, one span each, filed under ``ml_app``."""
    return {"data": {"type": "span", "attributes": {
        "ml_app": ml_app, "tags": [f"service:{ml_app}"],
        "spans": [span(trace, privacy_mode=privacy_mode) for trace in traces]}}}


def span(trace: dict[str, Any], *, privacy_mode: bool) -> dict[str, Any]:
    """The LLM span of one stored trace; a quantity the trace did not carry is left out."""
    trace_id, span_id = ids(trace)
    meta: dict[str, Any] = {"kind": KIND, "metadata": metadata(trace)}
    found: dict[str, Any] = {
        "trace_id": trace_id.hex(), "span_id": str(int.from_bytes(span_id, "big")), "parent_id": ROOT,
        "name": str(trace.get("trace", {}).get("generation_name", trace["model"])),
        "start_ns": trace["timestamp"] * 1_000_000, "duration": trace.get("duration_ms", 0) * 1_000_000,
        "status": "error" if level(trace) == "ERROR" else "ok", "meta": meta, "tags": tags(trace),
    }
    if measured := metrics(trace):
        found["metrics"] = measured
    if trace.get("session_id") is not None:
        found["session_id"] = str(trace["session_id"])
    if found["status"] == "error":
        status = trace.get("status_code")
        kind = f"HTTP {status}" if status is not None else "error"
        meta["error"] = {"message": str(trace.get("status_message") or kind), "type": kind}
    if not privacy_mode:
        for name, content in (("input", io(request_input(trace.get("request")), role="user")),
                              ("output", io(response_output(trace.get("response")), role="assistant"))):
            if content is not None:
                meta[name] = content
    return found


def metadata(trace: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """``meta.metadata``: the trace's custom keys, the request's settings, then the model, its provider and what else
    tracedrop knows of the call (these win over a custom key of the same name). Values are a string, number or
    boolean: anything else as JSON."""
    found = {key: value for key, value in custom_metadata(trace).items() if value is not None}
    found.update(model_parameters(trace.get("request")))
    found.update({name: trace[field] for field, name in _METADATA if trace.get(field) is not None})
    meta = trace.get("trace", {})
    if meta.get("trace_name") is not None:
        found["trace_name"] = meta["trace_name"]
    found["tracedrop_id"] = trace["id"]
    return {key: value if isinstance(value, str | int | float | bool) else orjson.dumps(value).decode()
            for key, value in found.items()}


def metrics(trace: dict[str, Any]) -> dict[str, float]:
    usage, cost = trace.get("usage", {}), trace.get("cost", {})
    found: dict[str, float] = {name: usage[field] for field, name in METRICS if usage.get(field) is not None}
    found.update({name: float(cost[field]) for field, name in COSTS if cost.get(field) is not None})
    if trace.get("time_to_first_token_ms") is not None:
        found["time_to_first_token"] = trace["time_to_first_token_ms"] / 1000
    return found


def tags(trace: dict[str, Any]) -> list[str]:
    """``key:value`` tags: the user and the API key name, then the trace's own tags as they are."""
    found = [f"{name}:{trace[field]}" for field, name in _TAGS if trace.get(field) is not None]
    return found + [str(tag) for tag in trace.get("trace", {}).get("tags", [])]


def io(content: Any, *, role: str) -> dict[str, Any] | None:
    """An IO object: ``messages`` for a list of messages (or one), else the content as text in ``value``."""
    if content is None:
        return None
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return {"messages": [message(item, role=role) for item in content]}
    return {"value": text(content)}


def message(item: Any, *, role: str) -> dict[str, str]:
    """A Message: its ``content`` as a string (the text parts of a multi-part content, joined), its role."""
    if not isinstance(item, dict):
        return {"role": role, "content": text(item)}
    content = item.get("content")
    if isinstance(content, list) and all(isinstance(part, dict) and "text" in part for part in content):
        content = "".join(str(part["text"]) for part in content)
    return {"role": str(item.get("role", role)), "content": text(content if "content" in item else item)}


def text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
