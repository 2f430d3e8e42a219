"""The Datadog connection test proves the API key: ``GET {url}/api/v1/validate`` with ``DD-API-KEY`` answers
``{"valid": true}`` for a key of that site, 403 for any other (``unauthorized``); a 404 means no Datadog API at the
URL (``not_found``). Reference: https://docs.datadoghq.com/api/latest/authentication/#validate-api-key."""

from __future__ import annotations

from typing import Any

import orjson

from worker.errors import DestinationError
from worker.kinds.datadog.config import VALIDATE_PATH, DatadogConfig
from worker.kinds.otlp_vendor.conntest import authenticated


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """Return ``{"status": 200, "valid": true}``, or raise a DeliveryError."""
    assert isinstance(config, DatadogConfig)
    url = config.url + VALIDATE_PATH
    answer = authenticated("GET", url, body=b"", headers=config.auth(), credentials=config.CREDENTIALS,
                           allow_private=allow_private,
                           missing="No Datadog API at the URL: check it (your site's API address, without a path)")
    if not _valid(answer.body):
        raise DestinationError(f"Datadog did not validate the key (HTTP {answer.status} from {url}, without "
                               '"valid": true): check the URL.', code="receiver_refused")
    return {"status": answer.status, "valid": True}


def _valid(body: bytes) -> bool:
    try:
        return orjson.loads(body).get("valid") is True
    except (orjson.JSONDecodeError, AttributeError):
        return False
