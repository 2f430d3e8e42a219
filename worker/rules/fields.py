"""What a rule's field is on a stored trace (worker/trace.py): its value, its text and its number."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import orjson

from worker.document import level, request_input, response_output

METADATA = "metadata."
TEXTS = ("model", "provider", "session_id", "user_id", "api_key_name", "finish_reason", "input", "output", "level")
NUMBERS = ("total_cost", "total_tokens", "prompt_tokens", "completion_tokens", "status_code")

_READERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "model": lambda t: t.get("model"),
    "provider": lambda t: t.get("provider"),
    "session_id": lambda t: t.get("session_id"),
    "user_id": lambda t: t.get("user"),
    "api_key_name": lambda t: t.get("api_key_name"),
    "finish_reason": lambda t: t.get("finish_reason"),
    "input": lambda t: message_text(request_input(t.get("request"))),
    "output": lambda t: message_text(response_output(t.get("response"))),
    "level": level,
    "status_code": lambda t: t.get("status_code"),
    "total_cost": lambda t: t.get("cost", {}).get("total"),
    "total_tokens": lambda t: t.get("usage", {}).get("total_tokens"),
    "prompt_tokens": lambda t: t.get("usage", {}).get("prompt_tokens"),
    "completion_tokens": lambda t: t.get("usage", {}).get("completion_tokens"),
}


def known_field(name: str) -> Literal["text", "number", "any"] | None:
    """Whether a rule can name ``name``: ``text``, ``number``, ``any`` (custom metadata), or None (unknown)."""
    if name.startswith(METADATA):
        return "any" if len(name) > len(METADATA) else None
    return "text" if name in TEXTS else "number" if name in NUMBERS else None


def reader(name: str) -> Callable[[dict[str, Any]], Any]:
    """The function reading field ``name`` of a stored trace (None when the trace does not carry it)."""
    if name.startswith(METADATA):
        key = name[len(METADATA):]
        return lambda t: t.get("trace", {}).get(key)
    return _READERS[name]


def message_text(value: Any) -> str | None:
    """The text of messages: every string under them (contents, multi-part text, tool-call arguments), a line
    each; None when there is none."""
    parts: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, dict):
            stack.extend(reversed([v for k, v in node.items() if k not in ("role", "type", "id")]))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return "\n".join(parts) if parts else None


def as_text(value: Any) -> str:
    """A field's text: a string as it is, anything else as JSON (``true``, ``12``, ``["a"]``)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def as_number(value: Any) -> float | None:
    """A field's number: a number, or a string that reads as a finite one (``"42"``, ``" 0.5 "``); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None
