"""OTLP spans to traces: each span carrying GenAI attributes is one LLM request; other spans are ignored.

Attributes are read by their current OpenTelemetry GenAI semantic-convention names, the deprecated ones and
OpenRouter Broadcast's own (the first name present wins, in the order of each row below). The table is the
mapping documented in docs/gateways.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

from api.formats.bounds import too_many_traces
from api.formats.model import Item
from api.formats.otlp_wire import STATUS_ERROR, Span

MODEL_NAMES = ("gen_ai.response.model", "gen_ai.request.model")
"""A GenAI span is an LLM request when it names a model. GenAI spans without one (tool and agent spans,
OpenRouter's ``provider attempt`` and ``generation`` child spans) are ignored like any other span."""
TRACE_ID = "tracedrop.trace_id"
SPAN_TRACE_ID = "tracedrop.id"
"""Ids as text, written by tracedrop's own OTLP output, so a round trip keeps ids and object keys."""
METADATA_PREFIX = "trace.metadata."
GATEWAY_METADATA = ("openrouter.", "openrouter_generation.", "provider_responses")
"""``trace.metadata.*`` keys that OpenRouter adds of its own: read where they mean a field, never custom metadata."""

LEVELS = frozenset({"DEBUG", "DEFAULT", "WARNING", "ERROR"})
TEXT, COUNT, MONEY, MILLIS, STATUS, FINISH = "text", "count", "money", "millis", "status", "finish"
FIELDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("model", ("gen_ai.response.model", "gen_ai.request.model"), TEXT),
    ("provider", ("trace.metadata.openrouter.provider_name", "gen_ai.provider.name", "gen_ai.system"), TEXT),
    ("api_type", ("gen_ai.operation.name",), TEXT),
    ("user", ("user.id", "gen_ai.user.id"), TEXT),
    ("session_id", ("session.id", "gen_ai.conversation.id"), TEXT),
    ("api_key_name", ("trace.metadata.openrouter.api_key_name", "openrouter.api_key_name"), TEXT),
    ("path", ("url.path", "http.route"), TEXT),
    ("status_code", ("http.response.status_code", "http.status_code"), STATUS),
    ("time_to_first_token_ms", ("tracedrop.time_to_first_token_ms", "trace.metadata.openrouter.first_token_ms"),
     MILLIS),
    ("finish_reason", ("gen_ai.response.finish_reasons", "gen_ai.response.finish_reason"), FINISH),
    ("usage.prompt_tokens", ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"), COUNT),
    ("usage.completion_tokens", ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"), COUNT),
    ("usage.total_tokens", ("gen_ai.usage.total_tokens",), COUNT),
    ("usage.cached_tokens", ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.input_tokens.cached"), COUNT),
    ("usage.cache_write_tokens", ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.input_tokens.cache_write"),
     COUNT),
    ("usage.reasoning_tokens", ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.output_tokens.reasoning"),
     COUNT),
    ("cost.total", ("gen_ai.usage.total_cost", "gen_ai.usage.cost"), MONEY),
    ("cost.input", ("gen_ai.usage.input_cost",), MONEY),
    ("cost.output", ("gen_ai.usage.output_cost",), MONEY),
    ("trace.trace_name", ("trace.name", "langfuse.trace.name"), TEXT),
    ("status_message", ("span.status_message",), TEXT),
)
_ROW_OF = {name: row for row, (_, names, _) in enumerate(FIELDS) for name in names}
"""Each attribute name FIELDS reads, and its row: a span's attributes find their rows in one set operation."""
REQUEST_PREFIX = "gen_ai.request."
REQUEST_RENAMES = {"gen_ai.request.stop_sequences": "stop"}
"""Every ``gen_ai.request.<name>`` but the model is a request setting ``<name>`` (the document's
``modelParameters``); these few are renamed to the chat API's own name."""
INPUT = ("gen_ai.input.messages", "gen_ai.prompt")
OUTPUT = ("gen_ai.output.messages", "gen_ai.completion")
"""Content: JSON strings (OpenRouter's ``gen_ai.prompt`` is ``{"messages": [...]}``, its ``gen_ai.completion``
``{"completion", "reasoning", "toolCalls", "rawRequest"}``), or plain text."""
_NOT_PARAMETERS = frozenset({"user", "session_id", "trace"})
"""Fields of OpenRouter's ``rawRequest`` that are read elsewhere (user, session, metadata), not settings."""
_INDEXED = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(\w+)$")
"""OpenLLMetry's flattened messages: ``gen_ai.prompt.0.role``, ``gen_ai.prompt.0.content``, ..."""


def is_request(span: Span) -> bool:
    return any(name in span.attributes for name in MODEL_NAMES)


def read_spans(spans: Iterable[Span], format: str, max_items: int) -> tuple[list[Item], int]:
    """The trace items of the LLM-request spans, and how many other spans were ignored; ``TooMany`` past
    ``max_items``."""
    items: list[Item] = []
    ignored = 0
    for span in spans:
        if is_request(span):
            if len(items) == max_items:
                raise too_many_traces(f"over {max_items}", max_items)
            items.append(to_item(span, format))
        else:
            ignored += 1
    return items, ignored


def to_item(span: Span, format: str) -> Item:
    attributes = span.attributes
    item = Item(format, span.where, None, problems=list(span.problems))
    origins = item.origins
    trace: dict[str, Any] = {}
    trace["id"], origins["id"] = _text_id(attributes, SPAN_TRACE_ID, span.span_id, "spanId")
    meta: dict[str, Any] = {}
    for key, value in attributes.items():
        if key.startswith(METADATA_PREFIX) and len(key) > len(METADATA_PREFIX):
            custom = key[len(METADATA_PREFIX):]
            if not custom.startswith(GATEWAY_METADATA):
                meta[custom] = value
                origins[f"trace.{custom}"] = f"attributes.{key}"
    trace["trace"] = meta
    if span.name:
        meta["generation_name"] = span.name
        origins["trace.generation_name"] = "name"
    meta["trace_id"], origins["trace.trace_id"] = _text_id(attributes, TRACE_ID, span.trace_id, "traceId")
    if not span.start_ns and all(field != "startTimeUnixNano" for field, _ in item.problems):
        item.problems.append(("startTimeUnixNano", "is required: the time the request started"))
    trace["timestamp"] = span.start_ns / 1e9
    origins["timestamp"] = "startTimeUnixNano"
    if span.end_ns:
        trace["duration_ms"] = round((span.end_ns - span.start_ns) / 1e6)
        origins["duration_ms"] = "endTimeUnixNano"
    for row in sorted({_ROW_OF[name] for name in _ROW_OF.keys() & attributes.keys()}):
        native, names, kind = FIELDS[row]
        name = next(n for n in names if n in attributes)
        value = _typed(attributes[name], kind)
        if value is None:
            item.problems.append((f"attributes.{name}", _REASONS[kind]))
            continue
        parent, _, leaf = native.rpartition(".")
        (trace.setdefault(parent, {}) if parent else trace)[leaf] = value
        origins[native] = f"attributes.{name}"
    if "trace.tags" in attributes:
        tags = attributes["trace.tags"]
        meta["tags"] = _json_or_text(tags) if isinstance(tags, str) else tags
        origins["trace.tags"] = "attributes.trace.tags"
    level = attributes.get("span.level")
    if isinstance(level, str) and level in LEVELS:
        trace["level"] = level
    if span.status_code == STATUS_ERROR:
        trace["level"] = "ERROR"
        if span.status_message:
            trace["status_message"] = span.status_message
            origins["status_message"] = "status.message"
    _content(trace, origins, attributes)
    item.trace = trace
    return item


def _text_id(attributes: dict[str, Any], attribute: str, fallback: str, fallback_field: str) -> tuple[str, str]:
    """An id given as text in ``attribute``, else the OTLP id (hex; empty when it was refused), with its origin."""
    value = attributes.get(attribute)
    if isinstance(value, str) and value:
        return value, f"attributes.{attribute}"
    return fallback, fallback_field


_REASONS = {TEXT: "must be a string", COUNT: "must be a non-negative integer", MONEY: "must be a non-negative number",
            MILLIS: "must be a non-negative number of milliseconds",
            STATUS: "must be an HTTP status code (100-599)", FINISH: "must be a string or an array of strings"}


def _typed(value: Any, kind: str) -> Any:
    """The attribute's value as the native field takes it, or None when its type is wrong."""
    if kind == TEXT:
        return value if isinstance(value, str) else None
    if kind == COUNT:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
    if kind in (MONEY, MILLIS):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < float("inf")
        return (float(value) if kind == MONEY else round(value)) if ok else None
    if kind == STATUS:
        return value if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599 else None
    value = _json_or_text(value) if isinstance(value, str) and value.startswith("[") else value
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else None


def _content(trace: dict[str, Any], origins: dict[str, str], attributes: dict[str, Any]) -> None:
    request: dict[str, Any] = {}
    for key, value in attributes.items():
        if key.startswith(REQUEST_PREFIX) and key not in MODEL_NAMES:
            request[REQUEST_RENAMES.get(key, key[len(REQUEST_PREFIX):])] = value
    indexed = _indexed_messages(attributes)
    completion = _json_or_text(attributes[OUTPUT[1]]) if OUTPUT[1] in attributes else None
    if isinstance(completion, dict) and isinstance(completion.get("rawRequest"), dict):
        raw_request = {k: v for k, v in completion["rawRequest"].items() if k not in _NOT_PARAMETERS}
        request = {**raw_request, **request}
    given = next((n for n in INPUT if n in attributes), None)
    if given is not None:
        content = _json_or_text(attributes[given])
        if isinstance(content, dict) and "messages" in content:
            request.update(content)
        else:
            request["messages" if isinstance(content, list) else "prompt"] = content
        origins["request"] = f"attributes.{given}"
    elif indexed.get("prompt"):
        request["messages"] = indexed["prompt"]
    if "gen_ai.system_instructions" in attributes:
        request["system"] = _json_or_text(attributes["gen_ai.system_instructions"])
    if request:
        trace["request"] = request
    given = next((n for n in OUTPUT if n in attributes), None)
    if given is not None:
        output = completion if given == OUTPUT[1] else _json_or_text(attributes[given])
        trace["response"] = _openrouter_completion(output) if isinstance(output, dict) else output
        origins["response"] = f"attributes.{given}"
    elif indexed.get("completion"):
        completions = indexed["completion"]
        trace["response"] = {"choices": [{"message": m} for m in completions]}


def _openrouter_completion(output: dict[str, Any]) -> Any:
    """OpenRouter's ``{"completion", "reasoning", "toolCalls"}`` as a chat response; anything else as sent."""
    if "completion" not in output:
        return output
    message: dict[str, Any] = {"role": "assistant", "content": output["completion"]}
    for field, source in (("reasoning", "reasoning"), ("tool_calls", "toolCalls")):
        if output.get(source) is not None:
            message[field] = output[source]
    return {"choices": [{"message": message}]}


def _indexed_messages(attributes: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for key, value in attributes.items():
        if key.startswith(("gen_ai.prompt.", "gen_ai.completion.")) and (match := _INDEXED.match(key)):
            side, index, part = match.groups()
            found.setdefault(side, {}).setdefault(int(index), {})[part] = value
    return {side: [by_index[i] for i in sorted(by_index)] for side, by_index in found.items()}


def _json_or_text(value: Any) -> Any:
    """A JSON string attribute, parsed; a string that does not parse is kept as the string."""
    if isinstance(value, str) and value[:1] in ("[", "{", '"'):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value

