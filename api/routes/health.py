"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from api.deps import LockoutDep, OutboxDep, RedisDep, SettingsDep, verified_bearer
from api.errors import ApiError
from api.metrics import StoreCollector
from worker import liveness

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(redis: RedisDep) -> dict[str, str]:
    """503 when Redis is unreachable, or when traces are owed and no worker is alive to deliver them."""
    try:
        found = liveness.read(redis)
    except Exception:
        raise ApiError(503, "not_ready", "Redis is unreachable") from None
    if found.stalled:
        raise ApiError(503, "no_worker", f"{found.owed} traces are owed and no worker is alive to deliver them: "
                       "start one (`tracedrop worker`)")
    return {"status": "ready"}


@router.get("/metrics")
def metrics(request: Request, outbox: OutboxDep, settings: SettingsDep, lockout: LockoutDep) -> Response:
    """Without TRACEDROP_METRICS_TOKEN open to whoever reaches the api (it names every workspace); with it, only to
    ``Authorization: Bearer <it>`` (a wrong one counts like a wrong admin token)."""
    if settings.metrics_token is not None:
        verified_bearer(request, lockout, settings.metrics_token.get_secret_value(), what="metrics token")
    registry = CollectorRegistry()
    registry.register(StoreCollector(outbox))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
