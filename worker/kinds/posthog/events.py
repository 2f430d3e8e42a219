"""The PostHog dialect: a trace as one ``$ai_generation`` event of PostHog's LLM analytics, and a batch of them for
the capture API. Pure: stored traces in, JSON-able dicts out.

Property names from PostHog's manual capture reference (https://posthog.com/docs/llm-analytics/manual-capture,
"Generation": ``$ai_trace_id``, ``$ai_span_id``, ``$ai_span_name``, ``$ai_model``, ``$ai_provider``, ``$ai_input``,
``$ai_output_choices``, token counts, ``$ai_latency`` in seconds, ``$ai_http_status``, ``$ai_is_error``,
``$ai_error``, the ``$ai_*_cost_usd`` costs, cache token counts and model parameters), ``$ai_session_id`` from its
Sessions page (https://posthog.com/docs/llm-analytics/sessions); the batch body (``api_key``, ``batch``; each event's
``event``, ``properties`` with ``distinct_id``, ``timestamp``) and ``$process_person_profile`` from the capture API
(https://posthog.com/docs/api/capture). Custom keys follow OpenRouter's PostHog destination: ``trace_name`` as is,
every other key of ``trace`` as ``metadata_<key>``.

A trace without a ``user`` is filed under its trace id as ``distinct_id``, without a person profile (what PostHog's
own LLM SDKs do). Each event's ``uuid`` is derived from the trace's id, so a redelivery is the same event: PostHog
dedupes events that share a ``uuid`` (posthog-js, ``CaptureOptions.uuid``: "emit both events with the same
deterministic uuid so PostHog can dedupe them"). Content (``$ai_input``, ``$ai_output_choices``) is left out under
privacy mode.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from worker.document import custom_metadata, iso_ms, level, model_parameters, request_input, response_output

EVENT = "$ai_generation"
NAMESPACE = uuid.UUID("8c3bd5d2-4b1e-4f0a-9a5e-7d0c2f61a9b4")
"""The namespace of the events' uuids (UUID version 5 of the trace's id)."""
USAGE = (("prompt_tokens", "$ai_input_tokens"), ("completion_tokens", "$ai_output_tokens"),
         ("cached_tokens", "$ai_cache_read_input_tokens"), ("cache_write_tokens", "$ai_cache_creation_input_tokens"))
COST = (("input", "$ai_input_cost_usd"), ("output", "$ai_output_cost_usd"), ("total", "$ai_total_cost_usd"))
PARAMETERS = (("temperature", "$ai_temperature"), ("max_tokens", "$ai_max_tokens"))
_TEXT = (("model", "$ai_model"), ("provider", "$ai_provider"), ("session_id", "$ai_session_id"),
         ("status_code", "$ai_http_status"), ("api_key_name", "api_key_name"), ("finish_reason", "finish_reason"))
_NOT_TRACE_ID = re.compile(r"[^A-Za-z0-9\-_~.@()!':|]")
"""What ``$ai_trace_id`` may not contain (letters, digits and ``-_~.@()!':|`` only)."""


def batch(traces: list[dict[str, Any]], *, api_key: str, privacy_mode: bool) -> dict[str, Any]:
    """A request of the batch capture API carrying ``traces``, one event each, for the project of ``api_key``."""
    return {"api_key": api_key, "batch": [event(trace, privacy_mode=privacy_mode) for trace in traces]}


def event(trace: dict[str, Any], *, privacy_mode: bool) -> dict[str, Any]:
    """The ``$ai_generation`` event of one stored trace; a quantity the trace did not carry is left out."""
    meta = trace.get("trace", {})
    trace_id = _NOT_TRACE_ID.sub("_", str(meta.get("trace_id", trace["id"])))
    properties: dict[str, Any] = {"distinct_id": str(trace.get("user") or trace_id), "$ai_trace_id": trace_id,
                                  "$ai_span_id": trace["id"]}
    if trace.get("user") is None:
        properties["$process_person_profile"] = False
    if meta.get("generation_name") is not None:
        properties["$ai_span_name"] = str(meta["generation_name"])
    properties.update({name: trace[field] for field, name in _TEXT if trace.get(field) is not None})
    usage, cost = trace.get("usage", {}), trace.get("cost", {})
    properties.update({name: usage[field] for field, name in USAGE if usage.get(field) is not None})
    properties.update({name: float(cost[field]) for field, name in COST if cost.get(field) is not None})
    request = trace.get("request")
    parameters = model_parameters(request)
    properties.update({name: parameters[field] for field, name in PARAMETERS if field in parameters})
    if isinstance(request, dict) and isinstance(request.get("stream"), bool):
        properties["$ai_stream"] = request["stream"]
    if trace.get("duration_ms") is not None:
        properties["$ai_latency"] = trace["duration_ms"] / 1000
    properties["$ai_is_error"] = level(trace) == "ERROR"
    if properties["$ai_is_error"] and trace.get("status_message") is not None:
        properties["$ai_error"] = str(trace["status_message"])
    if meta.get("trace_name") is not None:
        properties["trace_name"] = meta["trace_name"]
    if meta.get("tags"):
        properties["metadata_tags"] = list(meta["tags"])
    properties.update({f"metadata_{key}": value for key, value in custom_metadata(trace).items()})
    if not privacy_mode:
        for name, content, role in (("$ai_input", request_input(request), "user"),
                                    ("$ai_output_choices", response_output(trace.get("response")), "assistant")):
            if content is not None:
                properties[name] = messages(content, role=role)
    return {"event": EVENT, "uuid": str(uuid.uuid5(NAMESPACE, trace["id"])), "properties": properties,
            "timestamp": iso_ms(trace["timestamp"])}


def messages(content: Any, *, role: str) -> list[Any]:
    """A list of messages: the messages as they are, one message, or a text (a prompt, a completion) as one message
    of ``role``."""
    if isinstance(content, list):
        return content
    if isinstance(content, dict):
        return [content]
    return [{"role": role, "content": content}]
