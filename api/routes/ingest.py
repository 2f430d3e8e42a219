"""``POST /v1/traces``: the gateway's way in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import IngestWorkspace, OutboxDep, RedisDep, SettingsDep
from api.errors import ApiError
from api.ingest import accept, parse_body
from api.responses import OrjsonResponse
from worker.trace import TraceIn

router = APIRouter(tags=["ingest"])


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inlined(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inlined(v, defs) for k, v in node.items() if k != "$defs"}
    return [_inlined(v, defs) for v in node] if isinstance(node, list) else node


_TRACE_SCHEMA = TraceIn.model_json_schema()
_TRACE = _inlined(_TRACE_SCHEMA, _TRACE_SCHEMA.get("$defs", {}))
_TRACE["properties"]["timestamp"] = {"anyOf": [{"type": "string", "format": "date-time"},
                                               {"type": "number", "minimum": 0, "maximum": 253402300799}]}
TRACE_BODY_SCHEMA: dict[str, Any] = {
    "oneOf": [_TRACE, {"type": "object", "required": ["traces"], "properties": {"traces": {"type": "array",
                                                                                            "items": _TRACE}}}]
}


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "request_too_large", f"request body is {declared} bytes; at most {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "request_too_large", f"request body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/v1/traces",
    status_code=202,
    summary="Accept one trace or {\"traces\": [...]}",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": TRACE_BODY_SCHEMA}}}},
    responses={401: {}, 413: {}, 422: {}, 503: {}},
)
async def ingest(
    request: Request, workspace: IngestWorkspace, settings: SettingsDep, redis: RedisDep, outbox: OutboxDep
) -> OrjsonResponse:
    raw = await read_limited(request, settings.max_request_bytes)
    items = parse_body(raw, settings)
    accepted = await run_in_threadpool(accept, items, workspace=workspace, redis=redis, outbox=outbox)
    return OrjsonResponse({"accepted": accepted}, status_code=202)
