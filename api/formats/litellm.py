"""LiteLLM's ``StandardLoggingPayload`` (what its ``generic_api`` logger posts) to a trace.

Bulky fields that are not trace data (``model_map_information``, ``hidden_params``, cache and guardrail details)
are not read, so they are never stored.
"""

from __future__ import annotations

import math
from typing import Any

from api.formats.model import Item

FORMAT = "litellm"
_TEXT = (("id", "id"), ("model", "model"), ("provider", "custom_llm_provider"), ("api_type", "call_type"))
_USAGE = (("prompt_tokens", "prompt_tokens"), ("completion_tokens", "completion_tokens"),
          ("total_tokens", "total_tokens"))
_USAGE_DETAILS = (("cached_tokens", "prompt_tokens_details", "cached_tokens"),
                  ("reasoning_tokens", "completion_tokens_details", "reasoning_tokens"))
_PROXY_KEYS = frozenset({"headers", "used_client_oauth_token"})
_COST = (("input", "input_cost"), ("output", "output_cost"), ("total", "total_cost"))


def is_payload(body: Any) -> bool:
    return (isinstance(body, dict) and "startTime" in body and "timestamp" not in body
            and ("call_type" in body or "litellm_call_id" in body))


def to_item(payload: dict[str, Any]) -> Item:
    item = Item(FORMAT, "", None)
    origins = item.origins
    trace: dict[str, Any] = {}
    for native, source in _TEXT:
        if _given(payload.get(source)):
            trace[native] = payload[source]
            origins[native] = source
    trace["timestamp"] = payload["startTime"]
    origins["timestamp"] = "startTime"
    _times(item, trace, payload)
    metadata: dict[str, Any] = payload["metadata"] if isinstance(payload.get("metadata"), dict) else {}
    _people(trace, origins, payload, metadata)
    _usage(trace, origins, payload, metadata)
    _cost(trace, origins, payload)
    meta = _custom_metadata(origins, metadata)
    requester = metadata.get("requester_metadata")
    if isinstance(requester, dict) and isinstance(requester.get("headers"), dict):
        trace["headers"] = {"request": requester["headers"]}  # secret headers are dropped when validated
        origins["headers.request"] = "metadata.requester_metadata.headers"
    if _given(payload.get("trace_id")):
        meta["trace_id"] = payload["trace_id"]
        origins["trace.trace_id"] = "trace_id"
    if payload.get("request_tags"):
        meta["tags"] = payload["request_tags"]
        origins["trace.tags"] = "request_tags"
    if meta:
        trace["trace"] = meta
    parameters = payload.get("model_parameters")
    request = dict(parameters) if isinstance(parameters, dict) else {}
    if payload.get("messages") is not None:
        request["messages"] = payload["messages"]
    if request:
        trace["request"] = request
        origins["request"] = "messages"
    if payload.get("response") is not None:
        trace["response"] = payload["response"]
        origins["response"] = "response"
        finish = _finish_reason(payload["response"])
        if finish:
            trace["finish_reason"] = finish
    if payload.get("status") == "failure":
        _failure(trace, origins, payload)
    item.trace = trace
    return item


def _given(value: Any) -> bool:
    return value is not None and value != ""


def _times(item: Item, trace: dict[str, Any], payload: dict[str, Any]) -> None:
    start = payload["startTime"]
    if not isinstance(start, int | float) or isinstance(start, bool):
        return
    for native, source in (("duration_ms", "endTime"), ("time_to_first_token_ms", "completionStartTime")):
        at = payload.get(source)
        if isinstance(at, int | float) and not isinstance(at, bool):
            elapsed_ms = (at - start) * 1000
            if not math.isfinite(elapsed_ms):
                item.problems.append((source, "must be a time in unix seconds"))
                continue
            trace[native] = round(elapsed_ms)
            item.origins[native] = source


def _people(trace: dict[str, Any], origins: dict[str, str], payload: dict[str, Any],
            metadata: dict[str, Any]) -> None:
    parameters = payload.get("model_parameters") if isinstance(payload.get("model_parameters"), dict) else {}
    for native, candidates in (("user", (("end_user", payload), ("model_parameters.user", parameters))),
                               ("session_id", (("session_id", payload), ("trace_id", payload))),
                               ("api_key_name", (("metadata.user_api_key_alias", metadata),))):
        for source, holder in candidates:
            value = holder.get(source.rpartition(".")[2])
            if _given(value):
                trace[native] = value
                origins[native] = source
                break


def _usage(trace: dict[str, Any], origins: dict[str, str], payload: dict[str, Any],
           metadata: dict[str, Any]) -> None:
    usage = {native: payload[source] for native, source in _USAGE if payload.get(source) is not None}
    origins.update({f"usage.{native}": source for native, source in _USAGE})
    usage_object = metadata.get("usage_object")
    if isinstance(usage_object, dict):
        for native, group, source in _USAGE_DETAILS:
            details = usage_object.get(group)
            if isinstance(details, dict) and details.get(source) is not None:
                usage[native] = details[source]
                origins[f"usage.{native}"] = f"metadata.usage_object.{group}.{source}"
    if usage:
        trace["usage"] = usage


def _cost(trace: dict[str, Any], origins: dict[str, str], payload: dict[str, Any]) -> None:
    breakdown = payload.get("cost_breakdown")
    if isinstance(breakdown, dict) and any(breakdown.get(source) is not None for _, source in _COST):
        trace["cost"] = {native: breakdown[source] for native, source in _COST if breakdown.get(source) is not None}
        origins.update({f"cost.{native}": f"cost_breakdown.{source}" for native, source in _COST})
    elif payload.get("response_cost") is not None:
        trace["cost"] = {"total": payload["response_cost"]}
        origins["cost.total"] = "response_cost"


def _custom_metadata(origins: dict[str, str], metadata: dict[str, Any]) -> dict[str, Any]:
    """``requester_metadata`` and ``spend_logs_metadata`` merged flat; the latter wins on a clash. The keys the
    LiteLLM proxy adds to ``requester_metadata`` of its own (the client's request headers, OAuth use) are not
    custom metadata."""
    merged: dict[str, Any] = {}
    for source in ("requester_metadata", "spend_logs_metadata"):
        part = metadata.get(source)
        if isinstance(part, dict):
            part = {k: v for k, v in part.items() if source != "requester_metadata" or k not in _PROXY_KEYS}
            merged.update(part)
            origins.update({f"trace.{key}": f"metadata.{source}.{key}" for key in part})
    return merged


def _finish_reason(response: Any) -> str | None:
    choices = response.get("choices") if isinstance(response, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        reason = choices[0].get("finish_reason")
        return reason if isinstance(reason, str) and reason else None
    return None


def _failure(trace: dict[str, Any], origins: dict[str, str], payload: dict[str, Any]) -> None:
    trace["level"] = "ERROR"
    information = payload.get("error_information")
    information = information if isinstance(information, dict) else {}
    message = payload.get("error_str") or information.get("error_message")
    if isinstance(message, str) and message:
        trace["status_message"] = message[:1024]
        origins["status_message"] = "error_str"
    code = information.get("error_code")
    if isinstance(code, str) and code.isascii() and code.isdigit() and 100 <= int(code) <= 599:
        trace["status_code"] = int(code)
        origins["status_code"] = "error_information.error_code"
    elif isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
        trace["status_code"] = code
        origins["status_code"] = "error_information.error_code"
