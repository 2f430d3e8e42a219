"""A destination's delivery status and dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from api.deps import Admin, AnnounceDep, OutboxDep, RedisDep, SettingsDep, Workspace
from api.routes.destinations import owned

router = APIRouter(tags=["delivery"], dependencies=[Admin])


def iso(ms: str | int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@router.get("/v1/workspaces/{ws}/destinations/{destination_id}/status")
def status(ws: Workspace, destination_id: str, redis: RedisDep, settings: SettingsDep,
           outbox: OutboxDep) -> dict[str, Any]:
    """Where one destination's deliveries stand (docs/admin-api.md: Status).

    ``retrying`` counts the owed traces that failed at least once and wait for another attempt (``retry_at``
    while a transient failure's backoff runs; ``parked`` when a destination error stopped delivery until a probe
    or a PATCH passes). ``retried``/``failed`` count failed attempts (transient / refused by the destination).
    """
    destination = owned(redis, settings, ws, destination_id)
    found = outbox.status(destination_id)
    state = found.state
    retry_at = state.retry_at_ms(found.now_ms)
    return {
        "id": destination_id,
        "state": state.label(enabled=destination.enabled),
        "parked": state.parked,
        **{name: found.count(name) for name in ("accepted", "delivered")},
        "retrying": found.retrying,
        **{name: found.count(name) for name in ("retried", "failed", "dead_lettered", "files", "filtered")},
        "dead_letters": found.dead_letters,
        "backlog": {"size": found.backlog, "oldest_age_seconds": found.oldest_age_seconds,
                    "bytes": found.backlog_bytes},
        "in_flight_lanes": found.lanes,
        "last_success_at": iso(state.last_success_at_ms),
        "last_error": state.last_error,
        "retry_at": iso(retry_at),
        "next_probe_at": iso(state.next_probe_at_ms) if state.parked else None,
    }


@router.get("/v1/workspaces/{ws}/destinations/{destination_id}/dead-letters")
def dead_letters(ws: Workspace, destination_id: str, redis: RedisDep, settings: SettingsDep,
                 outbox: OutboxDep) -> dict[str, Any]:
    owned(redis, settings, ws, destination_id)
    letters = outbox.dead_letters(destination_id)
    return {"dead_letters": [{**row, "at": iso(row.pop("at_ms"))} for row in letters]}


@router.post("/v1/workspaces/{ws}/destinations/{destination_id}/dead-letters/replay", status_code=202)
def replay(ws: Workspace, destination_id: str, redis: RedisDep, settings: SettingsDep,
           outbox: OutboxDep, announce: AnnounceDep) -> dict[str, Any]:
    owned(redis, settings, ws, destination_id)
    replayed = outbox.replay(destination_id)
    if replayed:  # named, so the drain it starts claims them first, ahead of any backlog
        announce(destination_id, replayed)
    return {"replayed": len(replayed)}
