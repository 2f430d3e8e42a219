"""Standard Webhooks signatures (https://www.standardwebhooks.com): what a webhook receiver verifies. Pure.

``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` with the secret ``whsec_<base64>``.
The id is a pure function of the content, so every retry of the same body carries the same ``webhook-id`` and a
receiver can drop redeliveries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

PREFIX = "whsec_"
_SECRET = re.compile(r"whsec_[A-Za-z0-9+/]+={0,2}")
SECRET_BYTES = (24, 64)
"""How long the decoded secret may be, in bytes (24 to 64)."""


class SecretError(ValueError):
    """A signing secret that is not ``whsec_`` followed by base64 of 24 to 64 bytes."""


def secret_bytes(secret: str) -> bytes:
    """The key inside ``whsec_<base64>``; SecretError says what is wrong with it."""
    if not _SECRET.fullmatch(secret):
        raise SecretError("must be whsec_ followed by base64")
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise SecretError("must be whsec_ followed by valid base64") from None
    if not SECRET_BYTES[0] <= len(key) <= SECRET_BYTES[1]:
        raise SecretError(f"must encode {SECRET_BYTES[0]} to {SECRET_BYTES[1]} bytes, not {len(key)}")
    return key


def message_id(body: bytes) -> str:
    """``webhook-id``: the same for the same body, on every retry."""
    return "msg_" + hashlib.sha256(body).hexdigest()[:32]


def headers(secret: str | None, body: bytes, *, timestamp: int) -> dict[str, str]:
    """The headers for ``body`` sent at ``timestamp`` (unix seconds): ``webhook-id`` and ``webhook-timestamp``,
    and with a secret ``webhook-signature``."""
    msg_id = message_id(body)
    sent = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secret is not None:
        signed = f"{msg_id}.{timestamp}.".encode() + body
        digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
        sent["webhook-signature"] = "v1," + base64.b64encode(digest).decode()
    return sent
