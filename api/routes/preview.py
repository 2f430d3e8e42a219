"""A destination's preview: whether it takes a trace, and exactly what it would receive."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import APIRouter, Body

from api.deps import Admin, RedisDep, SettingsDep, Workspace
from api.errors import ApiError
from api.routes.destinations import inlined, owned, patched, saved
from worker.preview import preview
from worker.redaction.config import Redaction
from worker.rules.config import FilterRules
from worker.trace import TraceIn, stored_form, validate_trace

router = APIRouter(tags=["destinations"], dependencies=[Admin])
EDITABLE = ("filter_rules", "redaction")
"""Fields a preview may try before they are saved (the page's rules and redaction editor)."""

PreviewBody = Body(description="``trace``: a trace as ingest takes it (docs/ingest.md); optionally "
                   "``filter_rules`` and ``redaction`` to try instead of the saved ones.",
                   media_type="application/json")


PREVIEW_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["trace"], "additionalProperties": False,
    "properties": {"trace": inlined(TraceIn.model_json_schema()),
                   "filter_rules": inlined(FilterRules.model_json_schema()),
                   "redaction": inlined(Redaction.model_json_schema())}}}}}}


@router.post("/v1/workspaces/{ws}/destinations/{destination_id}/preview", openapi_extra=PREVIEW_BODY)
def preview_destination(ws: Workspace, destination_id: str, body: dict[str, Any] = PreviewBody, *,
                        redis: RedisDep, settings: SettingsDep) -> dict[str, Any]:
    """Whether the destination would take ``trace`` (and which rule, key list or sampling decided), and what it
    would receive, rendered as its kind renders it (docs/rules-and-redaction.md#preview). Nothing is stored."""
    current = owned(redis, settings, ws, destination_id)
    unknown = sorted(set(body) - {"trace", *EDITABLE})
    if unknown:
        raise ApiError(422, "invalid_preview", f"{unknown[0]}: not a field of a preview",
                       problems=[{"field": name, "reason": "not a field of a preview"} for name in unknown])
    try:  # read as ingest reads a body (orjson: integers past 64 bits become floats; no NaN)
        given = orjson.loads(json.dumps(body.get("trace")))
    except (ValueError, orjson.JSONDecodeError):
        raise ApiError(422, "invalid_preview", "trace: not JSON as ingest reads it (NaN or Infinity)",
                       problems=[{"field": "trace", "reason": "not JSON as ingest reads it"}]) from None
    trace, problems = validate_trace(given)
    if trace is None:
        found = [{"field": "trace" if p["field"] == "trace" else f"trace.{p['field']}",
                  "reason": p["reason"]} for p in problems]
        raise ApiError(422, "invalid_preview", "; ".join(f"{p['field']}: {p['reason']}" for p in found),
                       problems=found)
    config = patched(current, {name: body[name] for name in EDITABLE if name in body})
    destination = saved(config, id=current.id, workspace=ws, created_at=current.created_at,
                        redaction_key=current.redaction_key)
    return preview(destination, stored_form(trace))
