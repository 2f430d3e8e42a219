"""The OpenInference dialect: a trace as one OpenInference LLM span, what Arize Phoenix and Arize AX read. Pure.

Names from the OpenInference semantic conventions (github.com/Arize-ai/openinference, spec/semantic_conventions.md,
the ``openinference-semantic-conventions`` package): the span kind, model, provider and system, token counts (with
the cache and reasoning details), costs in USD, invocation parameters (JSON), finish reason, user, session, tags, and
``metadata`` (JSON: the trace's custom keys and its ``trace_name``). Content is ``input.value``/``output.value``
(JSON, or the text itself) and the messages flattened as ``llm.input_messages.N.message.*`` and
``llm.output_messages.N.message.*`` (a completions prompt as ``llm.prompts.N.prompt.text``, completion texts as
``llm.choices.N.completion.text``); all of it is left out under privacy mode. Where tracedrop knows things
OpenInference has no name for (API key name, HTTP status, path) they keep the GenAI dialect's names.
"""

from __future__ import annotations

from typing import Any

import orjson

from worker.document import custom_metadata, model_parameters, request_input, response_output
from worker.otlp.common import Attribute, tracedrop_ids

NAME = "openinference"
PROJECT = "openinference.project.name"
"""The resource attribute naming the project a span is filed under."""
TOKENS = (("prompt_tokens", "prompt"), ("completion_tokens", "completion"), ("total_tokens", "total"),
          ("cached_tokens", "prompt_details.cache_read"), ("cache_write_tokens", "prompt_details.cache_write"),
          ("reasoning_tokens", "completion_details.reasoning"))
"""A trace's usage -> ``llm.token_count.<name>``."""
COSTS = (("input", "prompt"), ("output", "completion"), ("total", "total"))
"""A trace's cost -> ``llm.cost.<name>`` (USD)."""
PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "cohere": "cohere", "mistral": "mistralai",
             "azure": "azure", "google": "google", "google vertex": "google", "google ai studio": "google",
             "amazon bedrock": "aws", "xai": "xai", "deepseek": "deepseek", "groq": "groq", "fireworks": "fireworks",
             "moonshot ai": "moonshot", "cerebras": "cerebras", "perplexity": "perplexity", "together": "together"}
"""OpenRouter's provider names -> the well-known ``llm.provider`` values (others are sent as they are)."""
SYSTEMS = {"openai": "openai", "anthropic": "anthropic", "cohere": "cohere", "mistralai": "mistralai",
           "x-ai": "xai", "deepseek": "deepseek", "amazon": "amazon", "meta-llama": "meta", "ai21": "ai21"}
"""A model's vendor (``openai`` in ``openai/gpt-4o``) -> the well-known ``llm.system`` values (others as they are)."""
_OTHER = (("api_key_name", "openrouter.api_key_name"), ("status_code", "http.response.status_code"),
          ("path", "url.path"), ("time_to_first_token_ms", "tracedrop.time_to_first_token_ms"))
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


def attributes(trace: dict[str, Any], *, privacy_mode: bool) -> list[Attribute]:
    meta = trace.get("trace", {})
    model = str(trace["model"])
    found = tracedrop_ids(trace)
    found += [("openinference.span.kind", "LLM"), ("llm.model_name", model)]
    if trace.get("provider") is not None:
        provider = str(trace["provider"])
        found.append(("llm.provider", PROVIDERS.get(provider.lower(), provider)))
    if "/" in model:
        vendor = model.split("/", 1)[0]
        found.append(("llm.system", SYSTEMS.get(vendor, vendor)))
    usage, cost = trace.get("usage", {}), trace.get("cost", {})
    found += [(f"llm.token_count.{name}", usage[field]) for field, name in TOKENS if usage.get(field) is not None]
    found += [(f"llm.cost.{name}", float(cost[field])) for field, name in COSTS if cost.get(field) is not None]
    parameters = model_parameters(trace.get("request"))
    if parameters:
        found.append(("llm.invocation_parameters", orjson.dumps(parameters).decode()))
    if trace.get("finish_reason") is not None:
        found.append(("llm.finish_reason", str(trace["finish_reason"])))
    if trace.get("user") is not None:
        found.append(("user.id", str(trace["user"])))
    if trace.get("session_id") is not None:
        found.append(("session.id", str(trace["session_id"])))
    if meta.get("tags"):
        found.append(("tag.tags", [str(tag) for tag in meta["tags"]]))
    metadata = {key: value for key, value in custom_metadata(trace).items() if value is not None}
    if meta.get("trace_name") is not None:
        metadata["trace_name"] = meta["trace_name"]
    if metadata:
        found.append(("metadata", orjson.dumps(metadata).decode()))
    found += [(name, trace[field]) for field, name in _OTHER if trace.get(field) is not None]
    if not privacy_mode:
        found += content(request_input(trace.get("request")), response_output(trace.get("response")))
    return found


def content(given: Any, answered: Any) -> list[Attribute]:
    """``input.*``, ``output.*`` and the flattened messages (or prompts and choices) of a request and its answer."""
    found: list[Attribute] = []
    for side, value in (("input", given), ("output", answered)):
        if value is not None:
            found += _value(side, value)
    found += _flattened(given, messages="llm.input_messages", texts=("llm.prompts", "prompt.text"))
    found += _flattened(answered, messages="llm.output_messages", texts=("llm.choices", "completion.text"))
    return found


def _value(side: str, value: Any) -> list[Attribute]:
    if isinstance(value, str):
        return [(f"{side}.value", value), (f"{side}.mime_type", "text/plain")]
    return [(f"{side}.value", orjson.dumps(value).decode()), (f"{side}.mime_type", "application/json")]


def _flattened(value: Any, *, messages: str, texts: tuple[str, str]) -> list[Attribute]:
    """Chat messages as ``<messages>.N.message.*``; a text, or a list of texts, as ``<list>.N.<text>``."""
    items = value if isinstance(value, list) else [value]
    if all(isinstance(item, str) for item in items):
        return [(f"{texts[0]}.{i}.{texts[1]}", item) for i, item in enumerate(items)]
    chat = [item for item in items if isinstance(item, dict) and ("role" in item or "content" in item)]
    found: list[Attribute] = []
    for i, message in enumerate(chat):
        found += _message(f"{messages}.{i}.message.", message)
    return found


def _message(at: str, message: dict[str, Any]) -> list[Attribute]:
    found: list[Attribute] = [(at + key, str(message[key])) for key in ("role", "name", "tool_call_id")
                              if message.get(key) is not None]
    body = message.get("content")
    if isinstance(body, list):
        for j, part in enumerate(body):
            found += _part(f"{at}contents.{j}.message_content.", part)
    elif body is not None:
        found.append((at + "content", _text(body)))
    for k, call in enumerate(message.get("tool_calls") or []):
        if isinstance(call, dict):
            function = call.get("function") if isinstance(call.get("function"), dict) else {}
            found += [(f"{at}tool_calls.{k}.tool_call.{name}", _text(value)) for name, value in
                      (("id", call.get("id")), ("function.name", function.get("name")),
                       ("function.arguments", function.get("arguments"))) if value is not None]
    return found


def _part(at: str, part: Any) -> list[Attribute]:
    """One item of a message's content list: text, an image's URL, else the item as JSON text."""
    kind = part.get("type") if isinstance(part, dict) else None
    if isinstance(part, dict) and kind in _TEXT_PARTS and isinstance(part.get("text"), str):
        return [(at + "type", "text"), (at + "text", part["text"])]
    if isinstance(part, dict) and kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str):
            return [(at + "type", "image"), (at + "image.image.url", url)]
    return [(at + "type", str(kind or "text")), (at + "text", _text(part))]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
