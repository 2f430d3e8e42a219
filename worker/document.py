"""The per-trace JSON object, with OpenRouter Broadcast's field names. Pure: stored trace in, dict out."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

_TRACE_KEYS = ("trace_id", "trace_name", "generation_name", "tags")
_CONTENT_KEYS = frozenset({"model", "stream", "messages", "prompt", "input", "system", "instructions", "suffix"})


def iso_ms(epoch_ms: int) -> str:
    """``2024-01-15T10:00:00.123Z``: UTC, to the millisecond."""
    return f"{_iso_second(epoch_ms // 1000)}.{epoch_ms % 1000:03d}Z"


@lru_cache(maxsize=4096)
def _iso_second(epoch_s: int) -> str:
    """The second's part of iso_ms: a backlog's traces share their seconds, and a document names up to four."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat(timespec="seconds")[:-6]


def custom_metadata(trace: dict[str, Any]) -> dict[str, Any]:
    """The ``trace`` object less the keys that have a meaning of their own."""
    return {k: v for k, v in trace.get("trace", {}).items() if k not in _TRACE_KEYS}


def build_document(trace: dict[str, Any], *, privacy_mode: bool) -> dict[str, Any]:
    """The OpenRouter-style trace document; a quantity the trace did not carry is omitted."""
    meta = trace.get("trace", {})
    metadata = custom_metadata(trace)
    start = trace["timestamp"]
    trace_id = meta.get("trace_id", trace["id"])
    observation: dict[str, Any] = {
        "id": trace["id"],
        "traceId": trace_id,
        "parentObservationId": None,
        "type": "GENERATION",
        "name": meta.get("generation_name", trace["model"]),
        "startTime": iso_ms(start),
    }
    if "duration_ms" in trace:
        observation["endTime"] = iso_ms(start + trace["duration_ms"])
    if "time_to_first_token_ms" in trace:
        observation["completionStartTime"] = iso_ms(start + trace["time_to_first_token_ms"])
    observation["model"] = trace["model"]
    observation["modelParameters"] = model_parameters(trace.get("request"))
    _put(observation, "providerName", trace.get("provider"))
    if not privacy_mode:
        _put(observation, "input", request_input(trace.get("request")))
        _put(observation, "output", response_output(trace.get("response")))
    observation.update(usage_fields(trace.get("usage", {})))
    observation.update(cost_fields(trace.get("cost", {})))
    status = trace.get("status_code")
    observation["level"] = level(trace)
    _put(observation, "statusCode", status)
    observation["statusMessage"] = trace.get("status_message")
    _put(observation, "finishReason", trace.get("finish_reason"))
    observation["metadata"] = metadata

    document: dict[str, Any] = {"id": trace_id, "name": meta.get("trace_name", "generation")}
    document["timestamp"] = iso_ms(start)
    _put(document, "userId", trace.get("user"))
    _put(document, "sessionId", trace.get("session_id"))
    _put(document, "apiKeyName", trace.get("api_key_name"))
    document["metadata"] = metadata
    document["tags"] = list(meta.get("tags", []))
    if not privacy_mode:
        _put(document, "input", observation.get("input"))
        _put(document, "output", observation.get("output"))
    document["observations"] = [observation]
    return document


def level(trace: dict[str, Any]) -> str:
    """The trace's own ``level``, else ``ERROR`` for a status code of 400 or more, else ``DEFAULT``."""
    status = trace.get("status_code")
    return str(trace.get("level") or ("ERROR" if status is not None and status >= 400 else "DEFAULT"))


def model_parameters(request: Any) -> dict[str, Any]:
    """The request's scalar settings (temperature, max_tokens, ...): no ``model``, ``stream`` or content."""
    if not isinstance(request, dict):
        return {}
    return {
        key: value
        for key, value in request.items()
        if key not in _CONTENT_KEYS and isinstance(value, str | int | float | bool)
    }


def request_input(request: Any) -> Any:
    """Chat messages (with an Anthropic ``system``), a completions prompt, a Responses ``input``."""
    if not isinstance(request, dict):
        return request
    messages = request.get("messages")
    if isinstance(messages, list):
        if "system" in request:
            return [{"role": "system", "content": request["system"]}, *messages]
        return messages
    if messages is not None:
        return messages
    for key in ("prompt", "input"):
        if key in request:
            return request[key]
    return None


def response_output(response: Any) -> Any:
    """The assistant message(s): chat choices, completion texts, Responses ``output``, Anthropic content."""
    if not isinstance(response, dict):
        return response
    choices = response.get("choices")
    if isinstance(choices, list) and choices:
        outputs = [c.get("message", c.get("text")) if isinstance(c, dict) else c for c in choices]
        return outputs[0] if len(outputs) == 1 else outputs
    if "output" in response:
        return response["output"]
    if "content" in response:
        return {"role": response.get("role", "assistant"), "content": response["content"]}
    return response


def usage_fields(usage: dict[str, int]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    _put(fields, "promptTokens", usage.get("prompt_tokens"))
    _put(fields, "completionTokens", usage.get("completion_tokens"))
    _put(fields, "totalTokens", usage.get("total_tokens"))
    prompt_details: dict[str, int] = {}
    _put(prompt_details, "cachedTokens", usage.get("cached_tokens"))
    _put(prompt_details, "cacheWriteTokens", usage.get("cache_write_tokens"))
    if prompt_details:
        fields["promptTokensDetails"] = prompt_details
    if "reasoning_tokens" in usage:
        fields["completionTokensDetails"] = {"reasoningTokens": usage["reasoning_tokens"]}
    return fields


def cost_fields(cost: dict[str, float]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    _put(fields, "inputCost", cost.get("input"))
    _put(fields, "outputCost", cost.get("output"))
    _put(fields, "totalCost", cost.get("total"))
    return fields


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value
