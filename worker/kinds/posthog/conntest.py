"""The PostHog connection test proves the project API key, then the capture endpoint:

1. ``POST {host}/flags?v=2`` with the key (PostHog's flags API, https://posthog.com/docs/api/flags): it answers the
   project's flags (200), or 401 for a key it knows no project of (``unauthorized``; PostHog's feature-flags service,
   ``TokenValidationError``). The capture API cannot tell: it answers 200 to any well-formed key. A 404 means no
   PostHog at the host (``not_found``).
2. An empty batch to ``{host}/batch/`` (no event is captured): a 404 there is ``not_found``.
"""

from __future__ import annotations

from typing import Any

import orjson

from worker.errors import DeliveryError, DestinationError
from worker.kinds.otlp_vendor.conntest import authenticated
from worker.kinds.posthog.config import BATCH_PATH, FLAGS_PATH, HEADERS, PostHogConfig
from worker.kinds.webhook.conntest import send_empty

PROBE = "tracedrop-connection-test"
"""The ``distinct_id`` the flags request asks for (flags are evaluated, nothing is captured)."""


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """Return ``{"status": <the empty batch's status>, "flags": 200}``, or raise a DeliveryError."""
    assert isinstance(config, PostHogConfig)
    body = orjson.dumps({"api_key": config.api_key.get_secret_value(), "distinct_id": PROBE})
    flags = authenticated("POST", config.host + FLAGS_PATH, body=body, headers=HEADERS,
                          credentials=config.CREDENTIALS, allow_private=allow_private,
                          missing="No PostHog at the host: check it (the address your PostHog SDKs send to, "
                                  "without a path)")
    try:
        captured = send_empty(config.target(), allow_private=allow_private)
    except DeliveryError as exc:
        if exc.code == "not_found":
            raise DestinationError(f"This host has no PostHog capture API ({BATCH_PATH}): check the host, the "
                                   f"address your PostHog SDKs send events to. ({exc})", code="not_found") from exc
        raise
    return {**captured, "flags": flags.status}
