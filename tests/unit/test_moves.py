"""Which changes move a destination elsewhere, and which stored secrets such a change would carry along (each kind's
``LOCATION`` and ``SECRETS``, worker/destination.py): pure, no network."""

from __future__ import annotations

import base64
from typing import Any

from worker.kinds.s3.config import S3Destination
from worker.kinds.webhook.config import WebhookDestination

MASK = "********"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
SAVED = {"id": "d", "workspace": "w", "created_at": "2024-01-15T10:00:00Z", "name": "x"}


def hook(**fields: Any) -> WebhookDestination:
    return WebhookDestination.model_validate({**SAVED, "type": "webhook", "url": "https://hooks.example.com/a",
                                              "headers": {"Authorization": "Bearer s"}, "signing_secret": SECRET,
                                              **fields})


def withheld(current: Any, changes: dict[str, Any]) -> list[str]:
    config = type(current).model_validate({**current.merged(changes), **{k: getattr(current, k) for k in SAVED}})
    return list(current.withheld(config, changes))


def test_a_webhook_moves_with_any_change_of_its_url_and_then_keeps_no_secret() -> None:
    current = hook()
    assert withheld(current, {"url": "https://hooks.example.com/a"}) == []
    assert withheld(current, {"format": "json", "batch_size": 5}) == []
    assert withheld(current, {"url": "https://hooks.example.com/b"}) == ["headers", "signing_secret"]
    assert withheld(current, {"url": "https://other.example/a", "headers": {"Authorization": MASK}}) == [
        "headers", "signing_secret"]
    assert withheld(current, {"url": "https://other.example/a", "headers": {}, "signing_secret": None}) == []
    assert withheld(hook(headers={}, signing_secret=None), {"url": "https://other.example/a"}) == []


def test_an_s3_destination_moves_with_its_endpoint_only() -> None:
    current = S3Destination.model_validate({**SAVED, "bucket_name": "traces", "region": "us-east-1",
                                            "endpoint": "https://s3.example.com", "access_key_id": "a",
                                            "access_secret": "b", "session_token": "t"})
    assert withheld(current, {"bucket_name": "other", "region": "eu-west-1", "prefix": "p"}) == []
    assert withheld(current, {"endpoint": "https://s3.example.com/"}) == []  # the same, as validated
    assert withheld(current, {"endpoint": "https://evil.example"}) == ["access_secret", "session_token"]
    assert withheld(current, {"endpoint": None, "region": None, "access_secret": "b2"}) == ["session_token"]
