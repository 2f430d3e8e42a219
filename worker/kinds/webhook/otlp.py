"""A stored trace as one OTLP span, for destinations that speak OTLP (protobuf or OTLP/JSON). Pure.

The span carries the GenAI semantic-convention attributes (current names) and OpenRouter's cost names, exactly the
names tracedrop's own OTLP ingest reads (docs/gateways.md), so that tracedrop reads its own output back into the
same document. Ids are a pure function of the trace, so a redelivery carries the same ones:
``traceId`` is the first 16 bytes of SHA-256 of the document's trace id (``trace.trace_id``, else the trace's
``id``), ``spanId`` the first 8 bytes of SHA-256 of the trace's ``id``; both ids also travel as text in
``tracedrop.trace_id`` and ``tracedrop.id``. Custom metadata goes to ``trace.metadata.<key>`` with its scalar
type kept; objects and arrays as JSON strings.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from worker.document import custom_metadata, level, model_parameters, request_input, response_output

SCOPE = "tracedrop"
STATUS_ERROR = 2
SPAN_KIND_CLIENT = 3
_USAGE = (("prompt_tokens", "gen_ai.usage.input_tokens"), ("completion_tokens", "gen_ai.usage.output_tokens"),
          ("total_tokens", "gen_ai.usage.total_tokens"), ("cached_tokens", "gen_ai.usage.cache_read.input_tokens"),
          ("cache_write_tokens", "gen_ai.usage.cache_creation.input_tokens"),
          ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens"))
_COST = (("total", "gen_ai.usage.total_cost"), ("input", "gen_ai.usage.input_cost"),
         ("output", "gen_ai.usage.output_cost"))
_TEXT = (("model", "gen_ai.request.model"), ("provider", "gen_ai.provider.name"), ("api_type", "gen_ai.operation.name"),
         ("user", "user.id"), ("session_id", "session.id"), ("api_key_name", "openrouter.api_key_name"),
         ("path", "url.path"), ("level", "span.level"), ("status_message", "span.status_message"))
_PARAMETERS = {"stop": "gen_ai.request.stop_sequences"}
"""Request settings whose attribute is not ``gen_ai.request.<name>``."""
_INT64 = (-(2**63), 2**63)
"""An integer outside int64 travels as its JSON text."""


def ids(trace: dict[str, Any]) -> tuple[bytes, bytes]:
    """(traceId, spanId) of a trace's span."""
    document_id = trace.get("trace", {}).get("trace_id", trace["id"])
    return (hashlib.sha256(str(document_id).encode()).digest()[:16],
            hashlib.sha256(trace["id"].encode()).digest()[:8])


def attributes(trace: dict[str, Any], *, privacy_mode: bool) -> list[tuple[str, Any]]:
    """The span's attributes, in a stable order (a redelivery encodes to the same bytes)."""
    meta = trace.get("trace", {})
    found: list[tuple[str, Any]] = [("tracedrop.id", trace["id"]),
                                    ("tracedrop.trace_id", str(meta.get("trace_id", trace["id"])))]
    found += [(name, trace[field]) for field, name in _TEXT if trace.get(field) is not None]
    if trace.get("status_code") is not None:
        found.append(("http.response.status_code", trace["status_code"]))
    if trace.get("finish_reason") is not None:
        found.append(("gen_ai.response.finish_reasons", [trace["finish_reason"]]))
    if trace.get("time_to_first_token_ms") is not None:
        found.append(("tracedrop.time_to_first_token_ms", trace["time_to_first_token_ms"]))
    usage, cost = trace.get("usage", {}), trace.get("cost", {})
    found += [(name, usage[field]) for field, name in _USAGE if usage.get(field) is not None]
    found += [(name, float(cost[field])) for field, name in _COST if cost.get(field) is not None]
    if meta.get("trace_name") is not None:
        found.append(("trace.name", meta["trace_name"]))
    if meta.get("tags"):
        found.append(("trace.tags", list(meta["tags"])))
    found += [(f"trace.metadata.{key}", value) for key, value in custom_metadata(trace).items() if value is not None]
    request = trace.get("request")
    found += [(_PARAMETERS.get(key, f"gen_ai.request.{key}"), value)
              for key, value in model_parameters(request).items()]
    if not privacy_mode:
        for name, content in (("gen_ai.input.messages", request_input(request)),
                              ("gen_ai.output.messages", response_output(trace.get("response")))):
            if content is not None:
                found.append((name, orjson.dumps(content).decode()))
    return found


def span_name(trace: dict[str, Any]) -> str:
    return str(trace.get("trace", {}).get("generation_name", trace["model"]))


def export_request(traces: list[dict[str, Any]], *, privacy_mode: bool) -> ExportTraceServiceRequest:
    """One ``ExportTraceServiceRequest`` with one span per trace (protobuf)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = SCOPE
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = SCOPE
    for trace in traces:
        trace_id, span_id = ids(trace)
        start_ns = trace["timestamp"] * 1_000_000
        span = scope_spans.spans.add(trace_id=trace_id, span_id=span_id, name=span_name(trace), kind=SPAN_KIND_CLIENT,
                                     start_time_unix_nano=start_ns,
                                     end_time_unix_nano=start_ns + trace.get("duration_ms", 0) * 1_000_000)
        if level(trace) == "ERROR":
            span.status.code = STATUS_ERROR
            span.status.message = trace.get("status_message", "")
        for key, value in attributes(trace, privacy_mode=privacy_mode):
            _set(span.attributes.add(key=key).value, value)
    return request


def export_json(traces: list[dict[str, Any]], *, privacy_mode: bool) -> dict[str, Any]:
    """The same request in OTLP/JSON: hex ids, 64-bit integers as decimal strings."""
    spans = []
    for trace in traces:
        trace_id, span_id = ids(trace)
        start_ns = trace["timestamp"] * 1_000_000
        span: dict[str, Any] = {
            "traceId": trace_id.hex(), "spanId": span_id.hex(), "name": span_name(trace), "kind": SPAN_KIND_CLIENT,
            "startTimeUnixNano": str(start_ns),
            "endTimeUnixNano": str(start_ns + trace.get("duration_ms", 0) * 1_000_000),
            "attributes": [{"key": key, "value": _json_value(value)}
                           for key, value in attributes(trace, privacy_mode=privacy_mode)],
        }
        if level(trace) == "ERROR":
            span["status"] = {"code": STATUS_ERROR, "message": trace.get("status_message", "")}
        spans.append(span)
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": SCOPE}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": SCOPE}, "spans": spans}]}]}


def _set(target: AnyValue, value: Any) -> None:
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int) and _INT64[0] <= value < _INT64[1]:
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        for item in value:
            target.array_value.values.add().string_value = item
    else:
        target.string_value = orjson.dumps(value).decode()


def _json_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int) and _INT64[0] <= value < _INT64[1]:
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {"arrayValue": {"values": [{"stringValue": v} for v in value]}}
    return {"stringValue": orjson.dumps(value).decode()}
