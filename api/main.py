"""The FastAPI application: ingest, admin and health routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from api import errors
from api.deps import Announce
from api.lockout import Lockout
from api.page import routes as page
from api.routes import destination_types, destinations, health, ingest, preview, status, workspaces
from worker import celery_app, redis_client
from worker.celery_app import configure
from worker.outbox import Outbox
from worker.settings import get_settings


def create_app(announce: Announce = celery_app.announce) -> FastAPI:
    """The app; ``announce`` is how it tells the workers about new work (a Celery message by default)."""
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure()
        redis = redis_client.connect(settings.redis_url, socket_timeout=5, socket_connect_timeout=3,
                                     max_connections=128)
        app.state.redis = redis
        app.state.outbox = Outbox(redis)
        app.state.lockout = Lockout(redis)
        app.state.announce = announce
        yield
        redis.close()

    app = FastAPI(title="tracedrop", version="0.1.0", lifespan=lifespan)
    errors.install(app)
    for module in (ingest, workspaces, destinations, preview, destination_types, status, health, page):
        app.include_router(module.router)
    app.mount("/admin/static", StaticFiles(directory=Path(page.__file__).parent / "static"), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if request.url.path.startswith("/admin"):  # the API's own /docs page loads Swagger UI from a CDN
            response.headers.update(SECURITY_HEADERS)
        return response

    return app


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                               "object-src 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
"""On every answer under /admin: the settings page runs no inline script and is never framed."""
