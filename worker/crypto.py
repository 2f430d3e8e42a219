"""Destination secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the secret key."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from worker.errors import TracedropError


class SecretUnreadable(TracedropError):
    """A stored secret does not decrypt under the current TRACEDROP_SECRET_KEY."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tracedrop destination secrets")
    return Fernet(base64.urlsafe_b64encode(derived.derive(secret_key.encode())))


def encrypt(plaintext: str, *, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode()


def decrypt(token: str, *, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("stored secret does not decrypt with TRACEDROP_SECRET_KEY") from None
