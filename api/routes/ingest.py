"""``POST /v1/traces`` (and ``PUT``): the gateway's way in, in every format docs/gateways.md lists."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.body import read_body
from api.deps import IngestCaller
from api.formats import answers
from api.formats.model import Decoded
from api.ingest import Checked, Outcome, accept, check, count_ignored, decode_body
from api.responses import OrjsonResponse
from worker.settings import get_settings
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


_INGEST_ROUTE: dict[str, Any] = {
    "status_code": 202,
    "summary": "Accept traces: native, OTLP (protobuf or JSON), LiteLLM or Aperture hook",
    "openapi_extra": {"requestBody": {"required": True,
                                      "content": {"application/json": {"schema": TRACE_BODY_SCHEMA}}}},
    "responses": {200: {}, 400: {}, 401: {}, 413: {}, 415: {}, 422: {}, 503: {}},
}


@router.put("/v1/traces", **_INGEST_ROUTE)
@router.post("/v1/traces", **_INGEST_ROUTE)
async def ingest(request: Request, caller: IngestCaller) -> Response:
    """What a request needs is read from the app's state, not from dependencies: each one FastAPI resolves costs
    about as much as a Redis round trip."""
    content_type = request.headers.get("content-type", "")
    if request.headers.get("x-test-connection", "").strip().lower() == "true":
        return answers.test_connection(content_type)
    state, settings = request.app.state, get_settings()
    with state.admission:
        raw = await read_body(request, settings.max_request_bytes)

        def read_and_store() -> tuple[Decoded, Checked, Outcome]:
            decoded = decode_body(raw, content_type, settings.max_traces_per_request)
            checked = check(decoded, len(raw), settings)
            accepted = accept(checked.traces, caller=caller, redis=state.redis, outbox=state.outbox,
                              announce=state.announce, routings=state.routings,
                              replicas=settings.redis_min_replicas, cap=settings.max_workspace_bytes)
            if decoded.ignored:
                count_ignored(state.redis, caller.workspace, decoded.ignored)
            return decoded, checked, accepted

        decoded, checked, accepted = await run_in_threadpool(read_and_store)  # CPU and Redis off the event loop
    request.scope["log"] = {"workspace": caller.workspace, "format": decoded.format, "accepted": accepted.accepted,
                            "owed": accepted.owed, **({"discarded": accepted.discarded} if accepted.discarded else {}),
                            **({"refused": len(checked.problems)} if checked.problems else {}),
                            **({"ignored": decoded.ignored} if decoded.ignored else {})}
    if decoded.answer == "json":
        return OrjsonResponse(accepted.answer(), status_code=202)
    return answers.otlp_success(decoded.answer, checked.problems, ignored=decoded.ignored, warning=accepted.warning())
