"""Settings-page sessions, kept in Redis so that signing out ends them on the server for every api process.

The cookie holds a random token; Redis holds only its SHA-256, with the session's CSRF token, for ``TTL_SECONDS``.
The admin token itself is never stored, put in a URL or in a page. Wrong tokens are counted per address: after
``MAX_FAILURES`` within ``WINDOW_SECONDS`` sign-in answers 429 until the window ends.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from redis import Redis

from worker import keys

COOKIE = "td_session"
SIGN_IN_COOKIE = "td_sign_in"
"""Holds the sign-in form's CSRF token (double submit), before there is a session."""
TTL_SECONDS = 12 * 3600
MAX_FAILURES = 5
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Session:
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(redis: Redis) -> tuple[str, Session]:
    """A new session: the cookie's value, and the session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    redis.set(keys.session(_digest(token)), csrf, ex=TTL_SECONDS)
    return token, Session(csrf)


def find(redis: Redis, cookie: str | None) -> Session | None:
    if not cookie:
        return None
    csrf = redis.get(keys.session(_digest(cookie)))
    return Session(csrf.decode()) if csrf else None


def close(redis: Redis, cookie: str | None) -> None:
    if cookie:
        redis.delete(keys.session(_digest(cookie)))


def same_token(sent: str | None, expected: str) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected.encode())


def blocked_for(redis: Redis, address: str) -> int:
    """Seconds this address must wait before it may try a token again (0: it may)."""
    key = keys.sign_in_failures(address)
    with redis.pipeline() as pipe:
        pipe.get(key)
        pipe.ttl(key)
        count, ttl = pipe.execute()
    return max(1, int(ttl)) if count is not None and int(count) >= MAX_FAILURES else 0


def failed(redis: Redis, address: str) -> None:
    """Count a wrong token; the fifth within the window blocks the address for a whole window from then."""
    key = keys.sign_in_failures(address)
    with redis.pipeline() as pipe:
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS, nx=True)
        count, _ = pipe.execute()
    if int(count) >= MAX_FAILURES:
        redis.expire(key, WINDOW_SECONDS)
