"""Dependencies: settings, Redis, and the two kinds of caller (admin, ingest)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from redis import Redis

from api.errors import ApiError
from api.page import session
from worker import store
from worker.outbox import Outbox
from worker.settings import Settings, get_settings

WORKSPACE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


def get_redis(request: Request) -> Redis:
    return request.app.state.redis  # type: ignore[no-any-return]


def get_outbox(request: Request) -> Outbox:
    return request.app.state.outbox  # type: ignore[no-any-return]


Announce = Callable[[str, list[int]], None]
"""Tells the workers that a destination has traces due (its id, the trace ids to start with)."""


def get_announce(request: Request) -> Announce:
    return request.app.state.announce  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
AnnounceDep = Annotated[Announce, Depends(get_announce)]
Workspace = Annotated[str, Path(pattern=WORKSPACE_PATTERN, description="Workspace name.")]


def bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    return token.strip()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_admin(request: Request, settings: SettingsDep, redis: RedisDep) -> None:
    """The admin token as a bearer token, or a settings-page session (its cookie, and on every request that
    changes something its CSRF token in ``X-CSRF-Token``)."""
    if "authorization" not in request.headers and session.COOKIE in request.cookies:
        found = session.find(redis, request.cookies[session.COOKIE])
        if found is None:
            raise ApiError(401, "unauthorized", "the session has ended: sign in again")
        if request.method not in SAFE_METHODS and not session.same_token(request.headers.get("x-csrf-token"),
                                                                         found.csrf):
            raise ApiError(403, "csrf_refused", "send the page's CSRF token in X-CSRF-Token")
        return
    expected = settings.admin_token.get_secret_value().encode()
    if not hmac.compare_digest(bearer(request).encode(), expected):
        raise ApiError(401, "unauthorized", "admin token missing or wrong")


def ingest_key(request: Request) -> str:
    """``Authorization: Bearer <key>``, or ``X-Api-Key: <key>`` (Aperture's and some gateways' way)."""
    key = request.headers.get("x-api-key", "").strip()
    return key or bearer(request)


def ingest_workspace(request: Request, redis: RedisDep) -> str:
    workspace = store.resolve_ingest_key(redis, key=ingest_key(request))
    if workspace is None:
        raise ApiError(401, "unauthorized", "unknown or revoked ingest key")
    return workspace


Admin = Depends(require_admin)
IngestWorkspace = Annotated[str, Depends(ingest_workspace)]
