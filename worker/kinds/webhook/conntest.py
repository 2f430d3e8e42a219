"""The webhook connection test: what OpenRouter sends, an empty payload in the destination's format with
``X-Test-Connection: true``, signed like every delivery. A 2xx passes, and so does a 400 (some receivers refuse an
empty payload). The API runs it before saving; the probe of a parked webhook runs the same test, never a trace.
"""

from __future__ import annotations

import time
from typing import Any

from worker.errors import DeliveryError
from worker.kinds.webhook import body
from worker.kinds.webhook.client import Client
from worker.kinds.webhook.config import WebhookConfig
from worker.kinds.webhook.errors import from_status
from worker.ssrf import check_endpoint

CODES = frozenset(
    {"unauthorized", "not_found", "endpoint_unreachable", "timeout", "tls_error", "redirect_refused",
     "endpoint_forbidden", "receiver_error", "rate_limited", "receiver_refused"}
)
"""The codes a webhook's connection test answers with (docs/webhooks.md)."""

_clients: dict[bool, Client] = {}


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """Send the empty, signed payload; return ``{"status": <HTTP status>}`` or raise a DeliveryError whose code is
    one of ``CODES``."""
    assert isinstance(config, WebhookConfig)
    check_endpoint(config.url, allow_private=allow_private)
    client = _clients.get(allow_private) or _clients.setdefault(allow_private, Client(allow_private=allow_private))
    data = body.empty(config.format)
    headers = body.headers(config, data, timestamp=int(time.time()), testing=True)
    answer = client.send(config.method, config.url, body=data, headers=headers)
    error: DeliveryError | None = from_status(answer.status, answer.body, location=answer.location,
                                              retry_after=answer.retry_after, testing=True)
    if error is not None:
        raise error
    return {"status": answer.status}
