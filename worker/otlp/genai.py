"""The GenAI dialect: a trace as OpenTelemetry GenAI semantic-convention attributes (current names) plus OpenRouter's
cost names, exactly the names tracedrop's own OTLP ingest reads (docs/gateways.md), so that tracedrop reads its own
output back into the same document. Custom metadata goes to ``trace.metadata.<key>`` with its scalar type kept;
objects and arrays as JSON strings. Pure.
"""

from __future__ import annotations

from typing import Any

import orjson

from worker.document import custom_metadata, model_parameters, request_input, response_output
from worker.otlp.common import tracedrop_ids

NAME = "genai"

_USAGE = (("prompt_tokens", "gen_ai.usage.input_tokens"), ("completion_tokens", "gen_ai.usage.output_tokens"),
          ("total_tokens", "gen_ai.usage.total_tokens"), ("cached_tokens", "gen_ai.usage.cache_read.input_tokens"),
          ("cache_write_tokens", "gen_ai.usage.cache_creation.input_tokens"),
          ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens"))
_COST = (("total", "gen_ai.usage.total_cost"), ("input", "gen_ai.usage.input_cost"),
         ("output", "gen_ai.usage.output_cost"))
_TEXT = (("model", "gen_ai.request.model"), ("provider", "gen_ai.provider.name"), ("api_type", "gen_ai.operation.name"),
         ("user", "user.id"), ("session_id", "session.id"), ("api_key_name", "openrouter.api_key_name"),
         ("path", "url.path"), ("level", "span.level"), ("status_message", "span.status_message"))
_PARAMETERS = {"stop": "gen_ai.request.stop_sequences"}
"""Request settings whose attribute is not ``gen_ai.request.<name>``."""


def attributes(trace: dict[str, Any], *, privacy_mode: bool) -> list[tuple[str, Any]]:
    """The span's attributes, in a stable order (a redelivery encodes to the same bytes)."""
    meta = trace.get("trace", {})
    found = tracedrop_ids(trace)
    found += [(name, trace[field]) for field, name in _TEXT if trace.get(field) is not None]
    if trace.get("status_code") is not None:
        found.append(("http.response.status_code", trace["status_code"]))
    if trace.get("finish_reason") is not None:
        found.append(("gen_ai.response.finish_reasons", [trace["finish_reason"]]))
    if trace.get("time_to_first_token_ms") is not None:
        found.append(("tracedrop.time_to_first_token_ms", trace["time_to_first_token_ms"]))
    usage, cost = trace.get("usage", {}), trace.get("cost", {})
    found += [(name, usage[field]) for field, name in _USAGE if usage.get(field) is not None]
    found += [(name, float(cost[field])) for field, name in _COST if cost.get(field) is not None]
    if meta.get("trace_name") is not None:
        found.append(("trace.name", meta["trace_name"]))
    if meta.get("tags"):
        found.append(("trace.tags", list(meta["tags"])))
    found += [(f"trace.metadata.{key}", value) for key, value in custom_metadata(trace).items() if value is not None]
    request = trace.get("request")
    found += [(_PARAMETERS.get(key, f"gen_ai.request.{key}"), value)
              for key, value in model_parameters(request).items()]
    if not privacy_mode:
        for name, content in (("gen_ai.input.messages", request_input(request)),
                              ("gen_ai.output.messages", response_output(trace.get("response")))):
            if content is not None:
                found.append((name, orjson.dumps(content).decode()))
    return found
