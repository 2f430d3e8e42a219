"""Traces as one OTLP export request, one span per trace, in protobuf or OTLP/JSON: the envelope every OTLP
destination shares. The span's attributes come from a dialect (``worker.otlp.DIALECTS``), its ids from
``worker.otlp.common``; a destination may add resource attributes and attributes on every span. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from worker.document import level
from worker.otlp import genai
from worker.otlp.common import Attribute, Dialect, ids

SCOPE = "tracedrop"
STATUS_ERROR = 2
SPAN_KIND_CLIENT = 3
_INT64 = (-(2**63), 2**63)
"""An integer outside int64 travels as its JSON text."""


def span_name(trace: dict[str, Any]) -> str:
    return str(trace.get("trace", {}).get("generation_name", trace["model"]))


def export_request(traces: list[dict[str, Any]], *, privacy_mode: bool, dialect: Dialect = genai.attributes,
                   resource: Sequence[Attribute] = (), common: Sequence[Attribute] = ()) -> ExportTraceServiceRequest:
    """One ``ExportTraceServiceRequest`` with one span per trace (protobuf): the ``dialect``'s attributes followed by
    ``common``; ``resource`` after ``service.name``."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in [("service.name", SCOPE), *resource]:
        _set(resource_spans.resource.attributes.add(key=key).value, value)
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
        for key, value in [*dialect(trace, privacy_mode=privacy_mode), *common]:
            _set(span.attributes.add(key=key).value, value)
    return request


def export_json(traces: list[dict[str, Any]], *, privacy_mode: bool, dialect: Dialect = genai.attributes,
                resource: Sequence[Attribute] = (), common: Sequence[Attribute] = ()) -> dict[str, Any]:
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
                           for key, value in [*dialect(trace, privacy_mode=privacy_mode), *common]],
        }
        if level(trace) == "ERROR":
            span["status"] = {"code": STATUS_ERROR, "message": trace.get("status_message", "")}
        spans.append(span)
    shared = {"attributes": [{"key": key, "value": _json_value(value)} for key, value in [("service.name", SCOPE),
                                                                                           *resource]]}
    return {"resourceSpans": [{"resource": shared, "scopeSpans": [{"scope": {"name": SCOPE}, "spans": spans}]}]}


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
