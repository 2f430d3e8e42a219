"""Configuration, read once from the environment (prefix ``TRACEDROP_``)."""

from __future__ import annotations

import ipaddress
import sys
from functools import lru_cache

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker import redis_client

MIN_ADMIN_TOKEN = 32
"""Characters an admin token needs at least: shorter ones stop the process at start."""
MIN_SECRET_KEY = 32
"""Characters a secret key needs at least: shorter ones stop the process at start."""
MAKE_A_TOKEN = "tracedrop keygen"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRACEDROP_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    """Celery broker, configuration store and durable outbox: a Redis URL or a ``redis+sentinel://`` set."""
    redis_min_replicas: int = Field(default=0, ge=0)
    """Replicas that must hold an accepted trace before ingest answers 202 (Redis ``WAIT``)."""
    admin_token: SecretStr
    """Bearer token of the admin API and the settings page's sign-in, at least MIN_ADMIN_TOKEN characters."""
    secret_key: SecretStr
    """Key that encrypts destination secrets at rest, at least MIN_SECRET_KEY characters of which not all alike."""
    allow_private_endpoints: bool = False
    """Allow destination endpoints on loopback and private ranges (self-hosted stores, tests)."""
    max_trace_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_traces_per_request: int = Field(default=1000, gt=0)
    max_request_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    max_workspace_bytes: int = Field(default=0, ge=0)
    """Stored (compressed) trace bytes one workspace may hold in Redis before ingest answers 503; 0: no cap."""
    trusted_proxies: str = ""
    """Comma-separated addresses or networks whose ``X-Forwarded-For``/``-Proto`` are believed; none by default."""
    metrics_token: SecretStr | None = None
    """When set, ``/metrics`` answers only ``Authorization: Bearer <it>``."""
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
    max_ingest_in_flight: int = Field(default=128, ge=1, le=100_000)
    """Ingest requests one api process works on at once; one more is answered 503 with Retry-After at once."""

    @field_validator("redis_url")
    @classmethod
    def _names_redis(cls, url: str) -> str:
        redis_client.parse(url)
        return url

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, token: SecretStr) -> SecretStr:
        if len(token.get_secret_value()) < MIN_ADMIN_TOKEN:
            raise ValueError(f"must be at least {MIN_ADMIN_TOKEN} characters; make one with: {MAKE_A_TOKEN}")
        return token

    @field_validator("secret_key")
    @classmethod
    def _strong(cls, key: SecretStr) -> SecretStr:
        value = key.get_secret_value()
        if len(value) < MIN_SECRET_KEY or len(set(value)) < 8:
            raise ValueError(f"must be at least {MIN_SECRET_KEY} characters, not a repeated few; make one with: "
                             f"{MAKE_A_TOKEN} (every api and worker needs the same value)")
        return key

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for entry in _entries(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network such as 10.0.0.5 or 10.0.0.0/24"
                                 ) from None
        return value

    def proxies(self) -> list[str]:
        """The trusted proxies, as uvicorn's ``forwarded_allow_ips`` takes them."""
        return _entries(self.trusted_proxies)


def _entries(value: str) -> list[str]:
    return [entry.strip() for entry in value.split(",") if entry.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]


def load_settings_or_exit() -> Settings:
    """Settings for a process entry point: one line for each bad or missing variable, all at once, then exit 2.
    A Redis taken by default is said too: on a shared machine, 127.0.0.1:6379 may be someone else's."""
    try:
        settings = get_settings()
        if "redis_url" not in settings.model_fields_set:
            print(f"tracedrop: TRACEDROP_REDIS_URL is not set: using {settings.redis_url} (the default)",
                  file=sys.stderr)
        return settings
    except ValidationError as exc:
        for error in exc.errors():
            name = "TRACEDROP_" + str(error["loc"][0]).upper()
            reason = "is required" if error["type"] == "missing" else str(error["msg"]).removeprefix("Value error, ")
            print(f"tracedrop: {name} {reason}", file=sys.stderr)
        raise SystemExit(2) from None
