"""``POST /v1/traces`` (and ``PUT``): the gateway's way in, in every format docs/gateways.md lists."""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api import errors
from api.body import read_body
from api.deps import Caller, bearer_token
from api.errors import ApiError
from api.formats import answers
from api.formats.model import Decoded
from api.ingest import INLINE_BYTES, INLINE_TRACES, Checked, accept, check, count_ignored, decode_body, in_thread
from api.ingest_cache import IngestKeys
from api.responses import OrjsonResponse
from worker import store
from worker.settings import get_settings
from worker.trace import TraceIn


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


def _operation(method: str) -> dict[str, Any]:
    statuses = {200: "OK (OTLP)", 400: "Bad Request", 401: "Unauthorized", 405: "Method Not Allowed",
                413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
                503: "Service Unavailable"}
    return {"tags": ["ingest"], "operationId": f"ingest_v1_traces_{method}",
            "summary": "Accept traces: native, OTLP (protobuf or JSON), LiteLLM or Aperture hook",
            "requestBody": {"required": True, "content": {"application/json": {"schema": TRACE_BODY_SCHEMA}}},
            "responses": {"202": {"description": "Accepted: the traces are stored for delivery",
                                  "content": {"application/json": {"schema": {}}}},
                          **{str(status): {"description": text} for status, text in statuses.items()}}}


PATH = "/v1/traces"
OPENAPI_PATH_ITEM: dict[str, Any] = {"post": _operation("post"), "put": _operation("put")}
"""The route as the app's OpenAPI document describes it (api/main.py adds it there)."""


class Ingest:
    """``POST`` and ``PUT`` on PATH (with or without a trailing slash), as plain ASGI in front of the FastAPI app
    (every other request goes on to it).

    Ingest is the one route a gateway calls for every request it serves, so it skips what FastAPI wraps around each
    route (its error and exception middleware, routing through every route, dependency solving, an exit stack per
    request), which cost more than the route's own work for a single trace. Its errors are answered in the same
    shape as every other route's (api/errors.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) not in (PATH, f"{PATH}/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            if scope["method"] not in ("POST", "PUT"):
                raise ApiError(405, "method_not_allowed", f"{scope['method']} {PATH}: send POST or PUT",
                               headers={"Allow": "POST, PUT"})
            with scope["app"].state.admission:  # first: under overload, the refusal is the one answer to make
                response = await ingest(scope, receive)
        except ApiError as exc:
            response = errors.answer(request, exc)
        except RedisError:
            response = errors.store_unavailable()
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path under the app's mount point (``root_path``), as Starlette's routing reads it."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path  # type: ignore[no-any-return]


async def ingest(scope: Scope, receive: Receive) -> Response:
    """Accept a request's traces; what it needs is read from the app's state, and from its headers, read once."""
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in reversed(scope["headers"])}
    state, settings = scope["app"].state, get_settings()
    caller = await caller_of(headers, state.ingest_keys, state.redis)
    content_type = headers.get("content-type", "")
    if headers.get("x-test-connection", "").strip().lower() == "true":
        return answers.test_connection(content_type)
    raw = await read_body(headers, receive, settings.max_request_bytes)

    def checked(decoded: Decoded) -> Checked:
        return check(decoded, len(raw), settings)

    def read() -> tuple[Decoded, Checked]:
        decoded = decode_body(raw, content_type, settings.max_traces_per_request)
        return decoded, checked(decoded)

    if len(raw) <= INLINE_BYTES:  # a small body on the event loop, and its traces too when they are few
        decoded = decode_body(raw, content_type, settings.max_traces_per_request)
        inline = len(decoded.items) <= INLINE_TRACES
        valid = checked(decoded) if inline else await in_thread(lambda: checked(decoded))
    else:
        (decoded, valid), inline = await in_thread(read), False
    accepted = await accept(valid.traces, caller=caller, accepting=state.accepting, inline=inline)
    if decoded.ignored:
        await count_ignored(state.redis, caller.workspace, decoded.ignored)
    scope["log"] = {"workspace": caller.workspace, "format": decoded.format, "accepted": accepted.accepted,
                    "owed": accepted.owed, **({"discarded": accepted.discarded} if accepted.discarded else {}),
                    **({"refused": len(valid.problems)} if valid.problems else {}),
                    **({"ignored": decoded.ignored} if decoded.ignored else {})}
    if decoded.answer == "json":
        return OrjsonResponse(accepted.answer(), status_code=202)
    return answers.otlp_success(decoded.answer, valid.problems, ignored=decoded.ignored, warning=accepted.warning())


async def caller_of(headers: dict[str, str], known: IngestKeys, redis: Redis) -> Caller:
    """The workspace of the request's ingest key (``Authorization: Bearer <key>``, or ``X-Api-Key: <key>``,
    Aperture's and some gateways' way), as this process read it lately (api/ingest_cache.py), else read now."""
    digest = store.key_digest(headers.get("x-api-key", "").strip() or bearer_token(headers.get("authorization", "")))
    workspace = known.kept(digest) or await in_thread(lambda: known.workspace(redis, digest))
    if workspace is None:
        raise ApiError(401, "unauthorized", "unknown or revoked ingest key")
    return Caller(workspace, digest)
