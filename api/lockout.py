"""Failed admin authentications, limited per client: the admin API's bearer token, the settings page's sign-in and
``/metrics``' token share one count in Redis (``keys.auth_failures``).

An attempt is decided and counted in one step (a script): whether the client may go on, and if its token was wrong,
one failure more. Attempts in flight together are each counted before any of them is let in (the sign-in's earlier
check, then await, then count let several through), while right tokens sent at once never hold each other up. After
``MAX_FAILURES`` a client is answered 429, whatever it sends, until ``WINDOW_SECONDS`` pass without an attempt: each
one restarts the window, so the block never ends while guessing goes on.

A client is the address the request came from: a proxy's ``X-Forwarded-For`` counts only from the addresses in
``TRACEDROP_TRUSTED_PROXIES`` (uvicorn applies it, worker/cli.py); an IPv6 client is its /64, which one host
usually holds whole.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Literal

from fastapi import Request
from redis import Redis

from worker import keys
from worker.scripts import Scripts

MAX_FAILURES = 5
WINDOW_SECONDS = 60
Outcome = Literal["right", "wrong", "none"]


class Locked(Exception):
    """The client failed too often lately: it must wait ``seconds`` without an attempt."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"too many failed attempts: try again in {seconds} s")
        self.seconds = seconds


def client_of(request: Request) -> str:
    """Who is attempting: the peer's address (the forwarded one behind a trusted proxy), an IPv6 one as its /64."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def same_token(sent: str | None, expected: str) -> bool:
    """Compared in constant time; an empty one is never right."""
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected.encode())


class Lockout:
    """The one limiter of admin authentication attempts (registered once per api process)."""

    def __init__(self, redis: Redis) -> None:
        self.scripts = Scripts(redis, "auth_attempt")

    def attempt(self, client: str, outcome: Outcome) -> None:
        """Record an attempt whose token was ``right``, ``wrong`` or not compared (``none``); Locked if the client
        must wait, whatever the outcome."""
        wait = int(self.scripts.auth_attempt(failures=keys.auth_failures(client), outcome=outcome,
                                             limit=MAX_FAILURES, window_s=WINDOW_SECONDS))
        if wait:
            raise Locked(wait)

    def verify(self, client: str, sent: str, expected: str) -> bool:
        """Whether ``sent`` is ``expected``, a wrong one counted against the client; Locked if it must wait."""
        right = same_token(sent, expected)
        self.attempt(client, "right" if right else "wrong")
        return right
