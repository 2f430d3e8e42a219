"""Tailscale Aperture's hook call (``HookCallData``, the ``entire_request`` event) to a trace.

The call carries no time of its own, so the trace's timestamp is the time tracedrop received it; Aperture does
not retry hooks, so a call is never repeated and each is one object.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from api.formats.model import Item

FORMAT = "aperture"
_USAGE = (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens"),
          ("cached_tokens", "cached_tokens"), ("cache_write_tokens", "cache_creation_input_tokens"),
          ("reasoning_tokens", "reasoning_tokens"))
_TEXT = (("id", "request_id"), ("model", "model"), ("provider", "provider"), ("session_id", "session_id"))


def is_hook(body: Any) -> bool:
    metadata = body.get("metadata") if isinstance(body, dict) else None
    return isinstance(metadata, dict) and "request_id" in metadata and "timestamp" not in body


def to_item(body: dict[str, Any], *, received_ms: int | None = None) -> Item:
    metadata: dict[str, Any] = body["metadata"]
    item = Item(FORMAT, "", None)
    origins = item.origins
    trace: dict[str, Any] = {"timestamp": (received_ms or time.time_ns() // 1_000_000) / 1000}
    for native, source in _TEXT:
        if source in metadata:
            trace[native] = metadata[source]
            origins[native] = f"metadata.{source}"
    if "model" not in trace and isinstance(body.get("request_body"), dict) and "model" in body["request_body"]:
        trace["model"] = body["request_body"]["model"]
        origins["model"] = "request_body.model"
    identity = {k: metadata[s] for k, s in (("login_name", "login_name"), ("node_id", "stable_node_id"))
                if s in metadata}
    if identity:
        trace["identity"] = identity
        origins.update({"identity.login_name": "metadata.login_name", "identity.node_id": "metadata.stable_node_id"})
    if isinstance(metadata.get("url"), str):
        trace["path"] = urlsplit(metadata["url"]).path or "/"
        origins["path"] = "metadata.url"
    if isinstance(metadata.get("user_agent"), str):
        trace["headers"] = {"request": {"user-agent": metadata["user_agent"]}}
        origins["headers"] = "metadata.user_agent"
    if isinstance(metadata.get("tailnet_name"), str):
        trace["trace"] = {"tailnet_name": metadata["tailnet_name"]}
        origins["trace"] = "metadata.tailnet_name"
    _cost(trace, origins, metadata.get("estimated_cost", body.get("estimated_cost")))
    for native, source in (("request", "request_body"), ("response", "response_body")):
        if source in body:
            trace[native] = body[source]
            origins[native] = source
    finish = _finish_reason(body.get("response_body"))
    if finish is not None:
        trace["finish_reason"] = finish
    item.trace = trace
    return item


def _cost(trace: dict[str, Any], origins: dict[str, str], estimated: Any) -> None:
    if not isinstance(estimated, dict):
        return
    if "dollars" in estimated:
        trace["cost"] = {"total": estimated["dollars"]}
        origins["cost.total"] = "metadata.estimated_cost.dollars"
    usage = estimated.get("usage")
    if isinstance(usage, dict):
        trace["usage"] = {native: usage[source] for native, source in _USAGE if source in usage}
        origins.update({f"usage.{native}": f"metadata.estimated_cost.usage.{source}" for native, source in _USAGE})


def _finish_reason(response: Any) -> str | None:
    if not isinstance(response, dict):
        return None
    if isinstance(response.get("stop_reason"), str):
        return str(response["stop_reason"])
    choices = response.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        reason = choices[0].get("finish_reason")
        return reason if isinstance(reason, str) else None
    return None
