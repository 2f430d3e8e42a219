"""Settings-page sessions, kept in Redis so that signing out ends them on the server for every api process.

The cookie holds a random token; Redis holds only its SHA-256, with the session's CSRF token and a digest of the admin
token it was opened with (an HMAC keyed by the cookie's token, so Redis alone tells nothing about the admin token), for
``TTL_SECONDS``. A session opened with another admin token is void: changing the token ends every session. The admin
token itself is never stored, put in a URL or in a page. Wrong tokens at sign-in count against the client like any
failed admin authentication (api/lockout.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson
from redis import Redis

from worker import keys

COOKIE = "td_session"
SIGN_IN_COOKIE = "td_sign_in"
"""Holds the sign-in form's CSRF token (double submit), before there is a session."""
TTL_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _opened_with(cookie: str, admin_token: str) -> str:
    return hmac.new(cookie.encode(), admin_token.encode(), hashlib.sha256).hexdigest()


def open_session(redis: Redis, *, admin_token: str) -> tuple[str, Session]:
    """A new session, bound to the admin token that opened it: the cookie's value, and the session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    record = {"csrf": csrf, "admin": _opened_with(token, admin_token)}
    redis.set(keys.session(_digest(token)), orjson.dumps(record), ex=TTL_SECONDS)
    return token, Session(csrf)


def find(redis: Redis, cookie: str | None, *, admin_token: str) -> Session | None:
    """The cookie's session, if it is open and was opened with today's admin token."""
    if not cookie:
        return None
    raw = redis.get(keys.session(_digest(cookie)))
    try:
        record = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:  # a session of a version that did not bind it to the admin token
        record = None
    if not isinstance(record, dict) or not hmac.compare_digest(str(record.get("admin", "")),
                                                               _opened_with(cookie, admin_token)):
        return None
    return Session(str(record["csrf"]))


def close(redis: Redis, cookie: str | None) -> None:
    if cookie:
        redis.delete(keys.session(_digest(cookie)))
