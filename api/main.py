"""The FastAPI application: ingest, admin and health routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from redis import Redis
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.access_log import AccessLog
from api.admission import Admission
from api.announcer import Announcer
from api.deps import Announce
from api.group_commit import GroupCommit
from api.ingest import Accepting
from api.ingest_cache import IngestKeys, Routings
from api.lockout import Lockout
from api.page import routes as page
from api.routes import destination_types, destinations, health, ingest, preview, status, workspaces
from worker import celery_app, heap, redis_client
from worker.celery_app import configure
from worker.outbox import Outbox
from worker.settings import Settings, get_settings


def create_app(announce: Announce = celery_app.announce) -> FastAPI:
    """The app; ``announce`` is how it tells the workers about new work (a Celery message by default)."""
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure()
        redis = redis_client.connect(settings.redis_url, socket_timeout=5, socket_connect_timeout=3,
                                     max_connections=128)
        announcer = attach(app, redis, announce, settings)
        heap.freeze_loaded_objects()
        yield
        try:
            announcer.close()
        finally:
            await app.state.outbox.aredis.aclose()
            redis.close()

    # /docs (Swagger UI) and /redoc from files in the fastapi-offline package: no CDN, so they work offline
    # FastAPI's own OpenTelemetry is off: tracedrop's telemetry is /metrics and the access log, and the check for a
    # configured provider cost every request more than its routing.
    app = FastAPIOffline(title="tracedrop", version="0.1.0", lifespan=lifespan, static_url="/docs-static",
                         telemetry={"tracing": False, "metrics": False, "logs": False})
    errors.install(app)
    for module in (workspaces, destinations, preview, destination_types, status, health, page):
        app.include_router(module.router)
    app.mount("/admin/static", StaticFiles(directory=Path(page.__file__).parent / "static"), name="static")

    app.add_middleware(SecurityHeaders)
    app.add_middleware(JsonBodies)
    # Built here rather than at the first request, so that ingest (api/routes/ingest.py) is served in front of
    # everything FastAPI wraps around its routes, error and telemetry middleware included; the access log is the
    # outermost, its time and status the client's. No middleware can be added after this.
    app.middleware_stack = AccessLog(ingest.Ingest(app.build_middleware_stack()))
    app.openapi = with_ingest(app.openapi)  # type: ignore[method-assign]
    return app


def with_ingest(openapi: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI document (FastAPI keeps it once built), with the ingest route it does not route itself."""

    def document() -> dict[str, Any]:
        schema = openapi()
        schema["paths"] = {ingest.PATH: ingest.OPENAPI_PATH_ITEM, **schema["paths"]}
        return schema

    return document


class JsonBodies:
    """The admin API's bodies are JSON whatever the request says: ``curl -d`` sends
    ``application/x-www-form-urlencoded`` and a hand-written call often no Content-Type; both are read as JSON.
    (Ingest reads every body by its own rules, api/formats/detect.py; the settings page's forms are under /admin.)
    The scope is changed in place: the access log reads what the routes add to it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/workspaces"):
            headers = [(name, value) for name, value in scope["headers"] if name != b"content-type"]
            given = next((value for name, value in scope["headers"] if name == b"content-type"), b"")
            if given.partition(b";")[0].strip().lower() in (b"", b"application/x-www-form-urlencoded"):
                scope["headers"] = [*headers, (b"content-type", b"application/json")]
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every answer under /admin (the API's own /docs and /redoc pages run inline scripts).
    Plain ASGI: Starlette's ``BaseHTTPMiddleware`` runs every request in a task group of its own, which cost more
    than a health check's whole answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/admin"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, with_headers)


def attach(app: FastAPI, redis: Redis, announce: Announce, settings: Settings) -> Announcer:
    """Put in the app's state what requests read from it: Redis, the outbox, the lockout, what ingest keeps between
    requests, its admission and the announcer (returned: close it when the app stops)."""
    app.state.redis = redis
    # an ingest request holds at most one connection at a time, and at most max_ingest_in_flight are at work
    aredis = redis_client.connect_async(settings.redis_url, socket_timeout=5, socket_connect_timeout=3,
                                        max_connections=max(128, settings.max_ingest_in_flight))
    app.state.outbox = outbox = Outbox(redis, aredis)
    app.state.lockout = Lockout(redis)
    app.state.ingest_keys = IngestKeys()
    app.state.admission = Admission(settings.max_ingest_in_flight)
    app.state.announce = announcer = Announcer(announce)
    app.state.accepting = Accepting(redis, outbox, GroupCommit(outbox), Routings(), announcer,
                                    replicas=settings.redis_min_replicas, cap=settings.max_workspace_bytes)
    return announcer


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                               "object-src 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
"""On every answer under /admin: the settings page runs no inline script and is never framed."""
