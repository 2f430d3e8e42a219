"""The webhook connection test: what OpenRouter sends, an empty payload in the destination's format with
``X-Test-Connection: true``, signed like every delivery. A 2xx passes, and so does a 400 (some receivers refuse an
empty payload). The API runs it before saving; the probe of a parked webhook runs the same test, never a trace.
"""

from __future__ import annotations

from typing import Any

from worker.errors import DeliveryError
from worker.kinds.webhook.client import Answer, Client, from_answer
from worker.kinds.webhook.config import WebhookConfig
from worker.kinds.webhook.target import Target
from worker.ssrf import check_endpoint

CODES = frozenset(
    {"unauthorized", "not_found", "endpoint_unreachable", "timeout", "tls_error", "redirect_refused",
     "endpoint_forbidden", "receiver_error", "rate_limited", "receiver_refused"}
)
"""The codes a webhook's connection test answers with (docs/webhooks.md)."""

_clients: dict[bool, Client] = {}


def client(*, allow_private: bool) -> Client:
    """The connection tests' client (one per fence setting, for the process)."""
    return _clients.get(allow_private) or _clients.setdefault(allow_private, Client(allow_private=allow_private))


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """Send the empty, signed payload; return ``{"status": <HTTP status>}`` or raise a DeliveryError whose code is
    one of ``CODES``."""
    assert isinstance(config, WebhookConfig)
    return send_empty(config.target(), allow_private=allow_private)


def send_empty(target: Target, *, allow_private: bool) -> dict[str, Any]:
    """The test of any ``Target``: its empty body, marked as a test; the answer read as a test reads it."""
    check_endpoint(target.url, allow_private=allow_private)
    answer = client(allow_private=allow_private).send(target.method, target.url, body=target.empty,
                                                      headers=target.headers(target.empty, True),
                                                      read_timeout=target.read_timeout)
    raise_for(answer, target.credentials)
    return {"status": answer.status}


def raise_for(answer: Answer, credentials: str) -> None:
    """Raise what a connection test's answer means, if it is not a pass."""
    error: DeliveryError | None = from_answer(answer, testing=True, credentials=credentials)
    if error is not None:
        raise error
