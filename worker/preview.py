"""What one destination would receive for one trace: whether it takes it (and what decided) and the bytes, rendered
as its kind renders them (``POST .../destinations/{id}/preview``). Kind-blind: a kind may give its own rendering
(``Kind.render``); a kind that sends requests (a ``Target``) gets its requests' body, any other the redacted
stored trace as JSON."""

from __future__ import annotations

from typing import Any

import orjson

from worker import routing
from worker.destination import Saved
from worker.kinds import kind_named
from worker.kinds.webhook.target import Targeted
from worker.redaction import outgoing
from worker.rendered import Rendered


def default_render(destination: Saved, trace: dict[str, Any]) -> Rendered:
    """A ``Target``'s request body for this trace alone (no header: they hold secrets); else the trace as
    received."""
    if isinstance(destination, Targeted):
        target = destination.target()
        body = target.encode([trace])
        content_type = next((v for k, v in target.headers(body, False).items() if k.lower() == "content-type"),
                            "application/octet-stream")
        return Rendered(content_type, body)
    return Rendered("application/json", orjson.dumps(trace))


def preview(destination: Saved, stored: dict[str, Any]) -> dict[str, Any]:
    """Whether ``destination`` takes the ``stored`` trace, what decided, and what it would receive."""
    decision = routing.decide(routing.parsed(orjson.dumps(destination.route())), stored)
    answer: dict[str, Any] = {"taken": decision.taken, "decided_by": decision.by}
    if not decision.taken:
        answer["receives"] = None
        return answer
    render = kind_named(destination.type).render or default_render
    answer["receives"] = render(destination, outgoing.trace(destination, stored)).answer()
    return answer


SAMPLE_TRACE: dict[str, Any] = {
    "id": "gen-sample-1", "timestamp": "2024-01-15T10:00:00Z", "model": "anthropic/claude-3.5-sonnet",
    "provider": "anthropic", "api_key_name": "prod", "user": "ada@example.com", "session_id": "s-42",
    "trace": {"customer_email": "ada@example.com", "plan": "team"},
    "request": {"messages": [
        {"role": "user", "content": "My card is 4111 1111 1111 1111 and my phone +44 20 7946 0958. Why was I "
                                    "charged twice?"}]},
    "response": {"choices": [{"message": {"role": "assistant", "content": "I'll check the charge on your card."},
                              "finish_reason": "stop"}]},
    "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40}, "cost": {"total": 0.0004},
    "status_code": 200, "finish_reason": "stop",
}
"""The trace the settings page's rules and redaction editor previews until another is pasted."""
