"""The Langfuse dialect: a trace as one Langfuse *generation*, in the ``langfuse.*`` attributes that Langfuse's OTLP
endpoint maps onto its data model ahead of any other convention. Pure.

Names from https://langfuse.com/integrations/native/opentelemetry#property-mapping: the observation's type, model,
model parameters, usage and cost details (JSON objects as strings), level, status message, completion start time,
input and output; the trace's name, user, session, tags and top-level metadata (``langfuse.trace.metadata.<key>``,
strings). Where tracedrop knows things Langfuse has no field for (provider, API key name, HTTP status, finish
reason) they go to ``langfuse.observation.metadata.<name>``. Content (input, output) is left out under privacy mode.
"""

from __future__ import annotations

from typing import Any

import orjson

from worker.document import custom_metadata, iso_ms, level, model_parameters, request_input, response_output
from worker.otlp.common import Attribute, tracedrop_ids

NAME = "langfuse"
USAGE = (("prompt_tokens", "input"), ("completion_tokens", "output"), ("total_tokens", "total"),
         ("cached_tokens", "input_cache_read"), ("cache_write_tokens", "input_cache_creation"),
         ("reasoning_tokens", "output_reasoning"))
"""A trace's usage -> the keys of ``langfuse.observation.usage_details``."""
COST = (("input", "input"), ("output", "output"), ("total", "total"))
"""A trace's cost -> the keys of ``langfuse.observation.cost_details`` (USD)."""
_OBSERVATION_METADATA = (("provider", "provider"), ("api_key_name", "api_key_name"), ("api_type", "api_type"),
                         ("status_code", "status_code"), ("finish_reason", "finish_reason"), ("path", "path"))
_TRACE = (("user", "langfuse.user.id"), ("session_id", "langfuse.session.id"))


def attributes(trace: dict[str, Any], *, privacy_mode: bool) -> list[Attribute]:
    meta = trace.get("trace", {})
    found = tracedrop_ids(trace)
    found += [("langfuse.observation.type", "generation"), ("langfuse.observation.model.name", trace["model"])]
    found += [(name, str(trace[field])) for field, name in _TRACE if trace.get(field) is not None]
    if meta.get("trace_name") is not None:
        found.append(("langfuse.trace.name", str(meta["trace_name"])))
    if meta.get("tags"):
        found.append(("langfuse.trace.tags", [str(tag) for tag in meta["tags"]]))
    found += [(f"langfuse.trace.metadata.{key}", _text(value))
              for key, value in custom_metadata(trace).items() if value is not None]
    found += [(f"langfuse.observation.metadata.{name}", _text(trace[field]))
              for field, name in _OBSERVATION_METADATA if trace.get(field) is not None]
    usage, cost = trace.get("usage", {}), trace.get("cost", {})
    details = {name: usage[field] for field, name in USAGE if usage.get(field) is not None}
    if details:
        found.append(("langfuse.observation.usage_details", orjson.dumps(details).decode()))
    costs = {name: float(cost[field]) for field, name in COST if cost.get(field) is not None}
    if costs:
        found.append(("langfuse.observation.cost_details", orjson.dumps(costs).decode()))
    parameters = {key: _text(value) for key, value in model_parameters(trace.get("request")).items()}
    if parameters:
        found.append(("langfuse.observation.model.parameters", orjson.dumps(parameters).decode()))
    found.append(("langfuse.observation.level", level(trace)))
    if trace.get("status_message") is not None:
        found.append(("langfuse.observation.status_message", str(trace["status_message"])))
    if trace.get("time_to_first_token_ms") is not None:
        found.append(("langfuse.observation.completion_start_time",
                      iso_ms(trace["timestamp"] + trace["time_to_first_token_ms"])))
    if not privacy_mode:
        for name, content in (("langfuse.observation.input", request_input(trace.get("request"))),
                              ("langfuse.observation.output", response_output(trace.get("response")))):
            if content is not None:
                found.append((name, orjson.dumps(content).decode()))
    return found


def environment(name: str | None) -> list[Attribute]:
    """The environment, as both a resource and a span attribute (``langfuse.environment``); none when not set."""
    return [] if name is None else [("langfuse.environment", name)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
