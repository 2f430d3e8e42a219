"""Configuration, read once from the environment (prefix ``TRACEDROP_``)."""

from __future__ import annotations

import sys
from functools import lru_cache

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker import redis_client


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRACEDROP_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    """Celery broker, configuration store and durable outbox: a Redis URL or a ``redis+sentinel://`` set."""
    redis_min_replicas: int = Field(default=0, ge=0)
    """Replicas that must hold an accepted trace before ingest answers 202 (Redis ``WAIT``)."""
    admin_token: SecretStr = Field(min_length=1)
    """Bearer token of the admin API."""
    secret_key: SecretStr = Field(min_length=1)
    """Key that encrypts destination secrets at rest."""
    allow_private_endpoints: bool = False
    """Allow destination endpoints on loopback and private ranges (self-hosted stores, tests)."""
    max_trace_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_traces_per_request: int = Field(default=1000, gt=0)
    max_request_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    # The api's HTTP server (api/server.py): what one client may hold of an api process, and for how long.
    max_connections: int = Field(default=500, ge=1)
    """Open connections per api process; a request on one more is answered 503."""
    max_header_bytes: int = Field(default=64 * 1024, ge=4096, le=1024 * 1024)
    """Request line and headers of one request; past it, 431 and the connection is closed."""
    max_headers: int = Field(default=100, ge=16, le=10_000)
    """Headers of one request; past it, 431 and the connection is closed."""
    header_timeout: float = Field(default=10.0, gt=0, le=600)
    """Seconds from a connection's opening (on a kept-alive one, its next request's first byte) to the end of the
    request's headers; then 408 and the connection is closed."""
    body_idle_timeout: float = Field(default=30.0, gt=0, le=600)
    """Seconds a request body may pause; then 408 and the connection is closed."""
    keep_alive_timeout: int = Field(default=5, ge=1, le=600)
    """Seconds an idle connection is kept open between requests."""

    @field_validator("redis_url")
    @classmethod
    def _names_redis(cls, url: str) -> str:
        redis_client.parse(url)
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]


def load_settings_or_exit() -> Settings:
    """Settings for a process entry point: one line naming the bad variable, then exit 2."""
    try:
        return get_settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "TRACEDROP_" + str(error["loc"][0]).upper()
        reason = "is required" if error["type"] == "missing" else error["msg"]
        print(f"tracedrop: {name} {reason}", file=sys.stderr)
        raise SystemExit(2) from None
