"""OTLP receivers' answers: an ``ExportTraceServiceResponse`` in the request's own encoding."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from api.formats.detect import PROTOBUF_TYPES, media_type
from api.responses import OrjsonResponse

PROTOBUF = "application/x-protobuf"
_LISTED = 10
"""How many refused spans the partial success's message names (the count covers all of them)."""


def otlp_success(encoding: str, problems: list[dict[str, Any]]) -> Response:
    """200 with partialSuccess naming how many spans were refused and why (none: an empty response)."""
    answer = ExportTraceServiceResponse()
    if problems:
        spans = {p["index"] for p in problems}
        message = "; ".join(f"{p['field']}: {p['reason']}" for p in problems[:_LISTED])
        if len(problems) > _LISTED:
            message += f"; and {len(problems) - _LISTED} more"
        answer.partial_success.CopyFrom(ExportTracePartialSuccess(rejected_spans=len(spans), error_message=message))
    return _encoded(answer, encoding)


def test_connection(content_type: str) -> Response:
    """A gateway's connection test: the key was good, nothing is stored."""
    if media_type(content_type) in PROTOBUF_TYPES:
        return _encoded(ExportTraceServiceResponse(), "otlp_proto")
    return OrjsonResponse({"ok": True, "test_connection": True}, status_code=200)


def _encoded(answer: ExportTraceServiceResponse, encoding: str) -> Response:
    if encoding == "otlp_proto":
        return Response(answer.SerializeToString(), status_code=200, media_type=PROTOBUF)
    return Response(json_format.MessageToJson(answer, indent=None).encode(), status_code=200,
                    media_type="application/json")
