"""OTLP receivers' answers: an ``ExportTraceServiceResponse`` in the request's own encoding."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from api.formats import otlp
from api.formats.detect import PROTOBUF_TYPES, media_type
from api.responses import OrjsonResponse

PROTOBUF = "application/x-protobuf"
_LISTED = 10
"""How many refused spans the partial success's message names (the count covers all of them)."""


def otlp_success(encoding: str, problems: list[dict[str, Any]], *, ignored: int = 0, warning: str = "") -> Response:
    """200 with partialSuccess naming how many spans were refused and why, and as a warning (OTLP: a partial success
    with ``rejected_spans`` 0) the spans ignored and the traces not stored for delivery; an empty response when all
    is well."""
    answer = ExportTraceServiceResponse()
    notes = [f"{p['field']}: {p['reason']}" for p in problems[:_LISTED]]
    if len(problems) > _LISTED:
        notes.append(f"and {len(problems) - _LISTED} more")
    if ignored:
        notes.append(f"{ignored} span{'s' * (ignored > 1)} ignored: not an LLM request (no "
                     f"{' or '.join(otlp.MODEL_NAMES)} attribute)")
    if warning:
        notes.append(warning)
    if notes:
        answer.partial_success.CopyFrom(ExportTracePartialSuccess(rejected_spans=len({p["index"] for p in problems}),
                                                                  error_message="; ".join(notes)))
    return _encoded(answer, encoding)


def test_connection(content_type: str) -> Response:
    """A gateway's connection test: the key was good, nothing is stored."""
    if media_type(content_type) in PROTOBUF_TYPES:
        return _encoded(ExportTraceServiceResponse(), "otlp_proto")
    return OrjsonResponse({"ok": True, "test_connection": True}, status_code=200)


def _encoded(answer: ExportTraceServiceResponse, encoding: str) -> Response:
    if encoding == "otlp_proto":
        return Response(answer.SerializeToString(), status_code=200, media_type=PROTOBUF)
    body = _EMPTY_JSON if answer == _EMPTY else json_format.MessageToJson(answer, indent=None).encode()
    return Response(body, status_code=200, media_type="application/json")


_EMPTY = ExportTraceServiceResponse()
_EMPTY_JSON = json_format.MessageToJson(_EMPTY, indent=None).encode()
"""The answer when all is well, written once: protobuf's JSON printer costs more than the rest of the answer."""
