"""OTLP ``ExportTraceServiceRequest`` bodies, protobuf or JSON, read into plain spans.

The JSON reader follows the OTLP JSON mapping (hex ids, 64-bit integers as strings or numbers, enum integers) and
also takes what protobuf's generic JSON printer writes (base64 ids, enum names). A body whose structure is wrong
is undecodable (400); a span with a bad id, time or attribute is kept with its problems, so that it alone is
refused.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from api.formats.model import Problem, Undecodable

STATUS_ERROR = 2
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_MAX_NANOS = 2**64 - 1
_INTEGER = re.compile(r"-?[0-9]{1,20}")


@dataclass(slots=True)
class Span:
    """One span as sent: hex ids, times in nanoseconds since the epoch, attributes as Python values."""

    where: str
    trace_id: str = ""
    span_id: str = ""
    name: str = ""
    start_ns: int = 0
    end_ns: int = 0
    status_code: int = 0
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def read_protobuf(raw: bytes) -> Iterator[Span]:
    try:
        request = ExportTraceServiceRequest.FromString(raw)
    except (DecodeError, ValueError) as exc:
        raise Undecodable("otlp_proto", "", f"body is not an OTLP ExportTraceServiceRequest: {exc}") from None
    for r, resource_spans in enumerate(request.resource_spans):
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            for n, pb in enumerate(scope_spans.spans):
                span = Span(f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]", trace_id=pb.trace_id.hex(),
                            span_id=pb.span_id.hex(), name=pb.name, start_ns=pb.start_time_unix_nano,
                            end_ns=pb.end_time_unix_nano, status_code=pb.status.code,
                            status_message=pb.status.message)
                span.attributes = {kv.key: _proto_value(kv.value) for kv in pb.attributes}
                _check_ids(span, len(pb.trace_id), len(pb.span_id))
                yield span


def _proto_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_proto_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _proto_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind) if kind else None


def _check_ids(span: Span, trace_bytes: int, span_bytes: int) -> None:
    if trace_bytes != 16:
        span.problems.append(("traceId", "must be 16 bytes (32 hex digits)"))
    if span_bytes != 8:
        span.problems.append(("spanId", "must be 8 bytes (16 hex digits)"))


def read_json(body: dict[str, Any]) -> Iterator[Span]:
    for r, resource_spans in _objects(body, "resourceSpans", ""):
        for s, scope_spans in _objects(resource_spans, "scopeSpans", f"resourceSpans[{r}]"):
            for n, raw in _objects(scope_spans, "spans", f"resourceSpans[{r}].scopeSpans[{s}]"):
                yield _json_span(raw, f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]")


def _objects(parent: dict[str, Any], name: str, where: str) -> Iterator[tuple[int, dict[str, Any]]]:
    items = parent.get(name)
    if items is None:
        return
    path = f"{where}.{name}" if where else name
    if not isinstance(items, list):
        raise Undecodable("otlp_json", path, "must be an array")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Undecodable("otlp_json", f"{path}[{index}]", "must be an object")
        yield index, item


def _json_span(raw: dict[str, Any], where: str) -> Span:
    span = Span(where)
    problems = span.problems
    span.trace_id = _json_id(raw.get("traceId"), 16, "traceId", problems)
    span.span_id = _json_id(raw.get("spanId"), 8, "spanId", problems)
    name = raw.get("name", "")
    span.name = name if isinstance(name, str) else ""
    span.start_ns = _json_uint(raw.get("startTimeUnixNano", 0), "startTimeUnixNano", problems)
    span.end_ns = _json_uint(raw.get("endTimeUnixNano", 0), "endTimeUnixNano", problems)
    status = raw.get("status") or {}
    if isinstance(status, dict):
        code = status.get("code", 0)
        span.status_code = _STATUS_NAMES.get(code, 0) if isinstance(code, str) else code
        if not isinstance(span.status_code, int) or isinstance(span.status_code, bool):
            problems.append(("status.code", "must be a status code (0, 1, 2 or its name)"))
            span.status_code = 0
        message = status.get("message", "")
        span.status_message = message if isinstance(message, str) else ""
    attributes = raw.get("attributes") or []
    if not isinstance(attributes, list):
        problems.append(("attributes", "must be an array of {key, value}"))
        return span
    for index, kv in enumerate(attributes):
        key = kv.get("key") if isinstance(kv, dict) else None
        if not isinstance(key, str):
            problems.append((f"attributes[{index}]", "must be {\"key\": string, \"value\": AnyValue}"))
            continue
        try:
            span.attributes[key] = _json_value(kv.get("value"))
        except ValueError as exc:
            problems.append((f"attributes.{key}", str(exc)))
    return span


def _json_id(value: Any, size: int, name: str, problems: list[Problem]) -> str:
    if isinstance(value, str):
        if len(value) == 2 * size:
            try:
                return bytes.fromhex(value).hex()
            except ValueError:
                pass
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) == size:
            return decoded.hex()
    problems.append((name, f"must be {size} bytes as {2 * size} hex digits (or base64)"))
    return ""


def _json_uint(value: Any, name: str, problems: list[Problem]) -> int:
    number = _json_int(value)
    if number is None or not 0 <= number <= _MAX_NANOS:
        problems.append((name, "must be nanoseconds since the epoch, as an integer or a string of digits"))
        return 0
    return number


def _json_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _json_value(value: Any) -> Any:
    """An OTLP/JSON ``AnyValue`` as a Python value; ValueError names what is wrong."""
    if not isinstance(value, dict) or not value:
        return None
    if len(value) > 1:
        raise ValueError("an AnyValue holds exactly one of stringValue, intValue, doubleValue, boolValue, ...")
    kind, inner = next(iter(value.items()))
    if kind == "stringValue" and isinstance(inner, str):
        return inner
    if kind == "boolValue" and isinstance(inner, bool):
        return inner
    if kind == "intValue":
        number = _json_int(inner)
        if number is None or not -(2**63) <= number < 2**63:
            raise ValueError("intValue must be a 64-bit integer (a number or a string of digits)")
        return number
    if kind == "doubleValue":
        return _json_double(inner)
    if kind == "arrayValue" and isinstance(inner, dict):
        values = inner.get("values") or []
        if isinstance(values, list):
            return [_json_value(v) for v in values]
    if kind == "kvlistValue" and isinstance(inner, dict):
        values = inner.get("values") or []
        if isinstance(values, list) and all(isinstance(kv, dict) and isinstance(kv.get("key"), str) for kv in values):
            return {kv["key"]: _json_value(kv.get("value")) for kv in values}
    if kind == "bytesValue" and isinstance(inner, str):
        return inner
    raise ValueError(f"{kind}: not a valid OTLP AnyValue")


def _json_double(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if not math.isnan(number) or value == "NaN":
                return number
    raise ValueError("doubleValue must be a number")
