"""The connection tests vendors share: an empty OTLP export (what every OTLP receiver takes), and an authenticated
request to a vendor API whose answer proves the credentials (OTLP vendors and the others alike: Datadog, PostHog).
Both go through the webhook kind's client, so the fence, the timeouts and the error mapping are the webhook's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from worker.egress import ANSWER_BYTES
from worker.errors import DestinationError
from worker.excerpts import inflated
from worker.kinds.otlp_vendor.config import VendorConfig
from worker.kinds.webhook.client import Answer
from worker.kinds.webhook.conntest import client, raise_for, send_empty
from worker.ssrf import check_endpoint


def export_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """POST an empty ``ExportTraceServiceRequest`` with the vendor's credentials: a 401 or 403 is ``unauthorized``,
    a 404 ``not_found``."""
    assert isinstance(config, VendorConfig)
    return send_empty(config.target(), allow_private=allow_private)


def authenticated_get(config: VendorConfig, url: str, *, allow_private: bool, missing: str) -> Answer:
    """GET ``url`` with the vendor's credentials; a 2xx answer, else the error it means (a 404 says ``missing``)."""
    return authenticated("GET", url, body=b"", headers=config.auth(), credentials=config.CREDENTIALS,
                         allow_private=allow_private, missing=missing)


def authenticated(method: str, url: str, *, body: bytes, headers: dict[str, str], credentials: str,
                  allow_private: bool, missing: str) -> Answer:
    """A request whose answer proves credentials (any vendor's, OTLP or not): a 2xx answer, else the error it means
    (401 or 403 ``unauthorized`` naming ``credentials``, a 404 ``not_found`` saying ``missing``). The answer's body
    comes inflated (ANSWER_BYTES at most; empty if it does not inflate)."""
    check_endpoint(url, allow_private=allow_private)
    answer = client(allow_private=allow_private).send(method, url, body=body, headers=headers)
    if answer.status in (404, 405, 410):
        raise DestinationError(f"{missing} (HTTP {answer.status} from {url}).", code="not_found")
    raise_for(answer, credentials)
    if not 200 <= answer.status < 300:
        raise DestinationError(f"The vendor refused the request (HTTP {answer.status} from {url}): check the base "
                               "URL.", code="receiver_refused")
    read = inflated(answer.body, answer.content_encoding, limit=ANSWER_BYTES)
    return replace(answer, body=read or b"", content_encoding=None)
