"""Standard Webhooks signatures, verified by the ``standardwebhooks`` library (not by tracedrop's own code)."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from worker.kinds.webhook import signing

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_the_library_verifies_a_signed_body() -> None:
    body = b'{"resourceSpans": []}'
    sent = signing.headers(SECRET, body, timestamp=int(time.time()))
    assert Webhook(SECRET).verify(body, sent) == {"resourceSpans": []}


def test_a_changed_body_or_another_secret_fails_verification() -> None:
    body = b'[{"id": "gen-1"}]'
    sent = signing.headers(SECRET, body, timestamp=int(time.time()))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body + b" ", sent)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(body, sent)


def test_the_id_is_the_same_on_every_retry_of_the_same_body() -> None:
    first = signing.headers(SECRET, b"same", timestamp=1)
    again = signing.headers(SECRET, b"same", timestamp=2)
    assert first["webhook-id"] == again["webhook-id"] != signing.headers(SECRET, b"other", timestamp=1)["webhook-id"]


@pytest.mark.parametrize("secret", ["", "whsec_", "sk_abc", "whsec_!!!!", SECRET + "\n",
                                    "whsec_" + base64.b64encode(b"k" * 8).decode(),
                                    "whsec_" + base64.b64encode(b"k" * 65).decode()])
def test_a_bad_secret_is_refused_with_a_reason(secret: str) -> None:
    with pytest.raises(signing.SecretError):
        signing.secret_bytes(secret)
