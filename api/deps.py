"""Dependencies: settings, Redis, and the two kinds of caller (admin, ingest).

The getters are ``async def`` although they await nothing: FastAPI runs a plain function's dependency in its thread
pool, a hop that cost more than the request's own work on the health check and every ingest request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from redis import Redis

from api.errors import ApiError
from api.lockout import Locked, Lockout, client_of, same_token
from api.page import session
from worker.outbox import Outbox
from worker.settings import Settings, get_settings

WORKSPACE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
"""A workspace's name: 1 to 64 of a-z, 0-9, '_' and '-', starting with a letter or digit (no dots: '.' and '..'
would be path segments)."""


async def app_settings() -> Settings:
    return get_settings()


async def get_redis(request: Request) -> Redis:
    return request.app.state.redis  # type: ignore[no-any-return]


async def get_outbox(request: Request) -> Outbox:
    return request.app.state.outbox  # type: ignore[no-any-return]


Announce = Callable[[str, list[int]], None]
"""Tells the workers that a destination has traces due (its id, the trace ids to start with)."""


async def get_announce(request: Request) -> Announce:
    return request.app.state.announce  # type: ignore[no-any-return]


async def get_lockout(request: Request) -> Lockout:
    return request.app.state.lockout  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(app_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
AnnounceDep = Annotated[Announce, Depends(get_announce)]
LockoutDep = Annotated[Lockout, Depends(get_lockout)]
Workspace = Annotated[str, Path(pattern=WORKSPACE_PATTERN, description="Workspace name: 1 to 64 of a-z, 0-9, _ "
                                                                       "and -, starting with a letter or digit.")]


def bearer(request: Request) -> str:
    return bearer_token(request.headers.get("authorization", ""))


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header's value; 401 for anything else."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    return token.strip()


def verified_bearer(request: Request, lockout: Lockout, expected: str, *, what: str) -> None:
    """The request's bearer token is ``expected``: a wrong one counts against the client (api/lockout.py), and a
    client that failed too often lately gets 429 whatever it sends."""
    try:
        if lockout.verify(client_of(request), bearer(request), expected):
            return
    except Locked as exc:
        raise ApiError(429, "too_many_failures", f"{exc}; every attempt meanwhile restarts the wait",
                       headers={"Retry-After": str(exc.seconds)}) from None
    raise ApiError(401, "unauthorized", f"{what} missing or wrong")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_admin(request: Request, settings: SettingsDep, redis: RedisDep, lockout: LockoutDep) -> None:
    """The admin token as a bearer token, or a settings-page session opened with today's admin token (its cookie,
    and on every request that changes something its CSRF token in ``X-CSRF-Token``)."""
    admin_token = settings.admin_token.get_secret_value()
    if "authorization" not in request.headers and session.COOKIE in request.cookies:
        found = session.find(redis, request.cookies[session.COOKIE], admin_token=admin_token)
        if found is None:
            raise ApiError(401, "unauthorized", "the session has ended: sign in again")
        if request.method not in SAFE_METHODS and not same_token(request.headers.get("x-csrf-token"), found.csrf):
            raise ApiError(403, "csrf_refused", "send the page's CSRF token in X-CSRF-Token")
        return
    verified_bearer(request, lockout, admin_token, what="admin token")


@dataclass(frozen=True)
class Caller:
    """Who sent an ingest request: the workspace its key belongs to, and the key's digest."""

    workspace: str
    key_digest: str


Admin = Depends(require_admin)
