"""The FastAPI application: ingest, admin and health routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis import Redis

from api import errors
from api.deps import Announce
from api.routes import destinations, health, ingest, status, workspaces
from worker import celery_app
from worker.celery_app import configure
from worker.outbox import Outbox
from worker.settings import get_settings


def create_app(announce: Announce = celery_app.announce) -> FastAPI:
    """The app; ``announce`` is how it tells the workers about new work (a Celery message by default)."""
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure()
        redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=3,
                               max_connections=128)
        app.state.redis = redis
        app.state.outbox = Outbox(redis)
        app.state.announce = announce
        yield
        redis.close()

    app = FastAPI(title="tracedrop", version="0.1.0", lifespan=lifespan)
    errors.install(app)
    for module in (ingest, workspaces, destinations, status, health):
        app.include_router(module.router)
    return app
