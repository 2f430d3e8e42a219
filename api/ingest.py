"""Accepting traces: parse, validate all-or-nothing, route, store durably, announce to the workers."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import Any

import orjson
from redis import Redis

from api.errors import ApiError
from worker import store
from worker.outbox import Outbox
from worker.routing import selects
from worker.settings import Settings
from worker.trace import stored_form, validate_traces

log = logging.getLogger("tracedrop.api")


def parse_body(raw: bytes, settings: Settings) -> list[Any]:
    """The request's traces, size and count limits enforced (413), JSON checked (422)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(422, "invalid_json", f"body is not valid JSON: {exc}") from None
    if isinstance(body, dict) and "traces" in body and "id" not in body:
        items = body["traces"]
        if not isinstance(items, list):
            raise ApiError(422, "invalid_request", "traces: must be a list of trace objects",
                           problems=[{"index": None, "field": "traces", "reason": "must be a list"}])
    else:
        items = [body]
    if len(items) > settings.max_traces_per_request:
        raise ApiError(413, "too_many_traces",
                       f"{len(items)} traces in one request; at most {settings.max_traces_per_request}")
    if not items:
        raise ApiError(422, "invalid_request", "traces: must not be empty",
                       problems=[{"index": None, "field": "traces", "reason": "must not be empty"}])
    if len(raw) > settings.max_trace_bytes:
        for index, item in enumerate(items):
            size = len(orjson.dumps(item))
            if size > settings.max_trace_bytes:
                raise ApiError(413, "trace_too_large",
                               f"trace {index} is {size} bytes; at most {settings.max_trace_bytes}", index=index)
    return items


class Room:
    """Whether Redis has room for new traces. Above HIGH_WATER of ``maxmemory`` ingest answers 503, so the memory
    left is for what drains the backlog (Celery messages, leases, settling), never for more backlog."""

    HIGH_WATER = 0.9
    EVERY = 1.0
    """Seconds between two reads of Redis's memory figures (per API process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = -self.EVERY
        self._full = False

    def check(self, redis: Redis) -> None:
        with self._lock:
            if time.monotonic() - self._read_at >= self.EVERY:
                memory = redis.info("memory")
                limit = int(memory.get("maxmemory", 0))
                self._full = limit > 0 and int(memory["used_memory"]) > self.HIGH_WATER * limit
                self._read_at = time.monotonic()
            full = self._full
        if full:
            raise ApiError(503, "store_full", "Redis is nearly full: nothing was stored; the backlog is draining, "
                           "try again shortly", headers={"Retry-After": "5"})


ROOM = Room()


def accept(items: list[Any], *, workspace: str, redis: Redis, outbox: Outbox) -> int:
    """Validate every trace, then store each with the destinations it is owed to; return how many."""
    traces, found = validate_traces(items)
    if found:
        problems = [p.model_dump() for p in found]
        message = "; ".join(f"trace {p['index']}: {p['field'] or 'trace'}: {p['reason']}" for p in problems[:10])
        raise ApiError(422, "invalid_traces", message, problems=problems)
    enabled, routes = store.routes(redis, workspace=workspace)
    if not enabled:
        redis.hincrby("td:m:discarded", workspace, len(traces))
        return len(traces)
    owed: list[tuple[bytes, list[str]]] = []
    for trace in traces:
        data = stored_form(trace)
        owed.append((orjson.dumps(data), [r["id"] for r in routes if selects(r, data)]))
    ROOM.check(redis)
    trace_ids = outbox.accept(owed, workspace=workspace)
    per_trace = {r["id"] for r in routes if r.get("mode", "per_trace") == "per_trace"}
    announce(trace_ids, [(body, [d for d in ids if d in per_trace]) for body, ids in owed])
    return len(traces)


def announce(trace_ids: list[int], owed: list[tuple[bytes, list[str]]]) -> None:
    """One Celery message per destination naming its new traces. Losing one loses nothing: the outbox
    keeps the traces and the reconciler re-announces them."""
    from worker.tasks import deliver

    by_destination: dict[str, list[int]] = defaultdict(list)
    for trace_id, (_, destinations) in zip(trace_ids, owed, strict=True):
        for destination_id in destinations:
            by_destination[destination_id].append(trace_id)
    for destination_id, ids in by_destination.items():
        try:
            deliver.delay(destination_id, ids)
        except Exception:
            log.warning("announce failed; the reconciler will pick these up",
                        extra={"destination": destination_id, "count": len(ids)})
