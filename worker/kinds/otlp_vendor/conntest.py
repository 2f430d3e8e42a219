"""The connection tests vendors share: an empty OTLP export (what every OTLP receiver takes), and an authenticated
request to a vendor API whose answer proves the credentials (OTLP vendors and the others alike: Datadog, PostHog).
Both go through the webhook kind's client, so the fence, the timeouts and the error mapping are the webhook's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from worker.egress import ANSWER_BYTES, READ_TIMEOUT
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
                         allow_private=allow_private, missing=missing, read_timeout=config.READ_TIMEOUT)


def authenticated(method: str, url: str, *, body: bytes, headers: dict[str, str], credentials: str,
                  allow_private: bool, missing: str, read_timeout: float = READ_TIMEOUT) -> Answer:
    """A request whose answer proves credentials (any vendor's, OTLP or not): a 2xx answer, else the error it means
    (401 or 403 ``unauthorized`` naming ``credentials``, a 404 ``not_found`` saying ``missing``). The answer's body
    comes inflated (ANSWER_BYTES at most; empty if it does not inflate)."""
    answer = send(method, url, body=body, headers=headers, allow_private=allow_private, read_timeout=read_timeout)
    return expect_success(answer, url, credentials, missing=missing)


def send(method: str, url: str, *, body: bytes, headers: dict[str, str], allow_private: bool,
         read_timeout: float = READ_TIMEOUT) -> Answer:
    """A request to a vendor's API behind the fence, waiting ``read_timeout`` for each read; its answer, whatever it
    says."""
    check_endpoint(url, allow_private=allow_private)
    return client(allow_private=allow_private).send(method, url, body=body, headers=headers,
                                                    read_timeout=read_timeout)


def expect_success(answer: Answer, url: str, credentials: str, *, missing: str) -> Answer:
    """``answer`` if it is a 2xx, else the error it means (a 404 says ``missing``)."""
    if answer.status in (404, 405, 410):
        raise DestinationError(f"{missing} (HTTP {answer.status} from {url}).", code="not_found")
    raise_for(answer, credentials)
    if not 200 <= answer.status < 300:
        raise DestinationError(f"The vendor refused the request (HTTP {answer.status} from {url}): check the base "
                               "URL.", code="receiver_refused")
    read = inflated(answer.body, answer.content_encoding, limit=ANSWER_BYTES)
    return replace(answer, body=read or b"", content_encoding=None)
