"""Accepting traces: read the gateway's format, validate, route, store durably, announce to the workers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from redis import Redis

from api.deps import Announce, Caller
from api.errors import ApiError
from api.formats.detect import decode
from api.formats.model import Decoded, Item, TooMany, Undecodable
from api.group_commit import GroupCommit
from api.ingest_cache import Routings
from worker import keys
from worker.outbox import Guard, KeyRevoked, NotReplicated, Outbox, StaleRouting, Stored, WorkspaceFull
from worker.routing import discard_reason, owed_to
from worker.settings import Settings
from worker.store import Routing
from worker.trace import TraceIn, stored_form, validate_trace

log = logging.getLogger("tracedrop.api")


@dataclass(slots=True)
class Checked:
    """The traces of a request that passed validation, and the problems of those refused."""

    traces: list[TraceIn]
    problems: list[dict[str, Any]]


def decode_body(raw: bytes, content_type: str, max_items: int) -> Decoded:
    """The request's items in the format it was sent in; 400 (OTLP) or 422 (JSON formats) when unreadable, 413
    when it holds more than a limit allows (counted before any item is built)."""
    try:
        return decode(raw, content_type, max_items)
    except TooMany as exc:
        raise ApiError(413, exc.code, str(exc)) from None
    except Undecodable as exc:
        status = 400 if exc.format.startswith("otlp") else 422
        raise ApiError(status, exc.code, f"{exc.format}: {exc}", format=exc.format,
                       problems=[{"index": None, "format": exc.format, "field": exc.field or "body",
                                  "reason": exc.reason}]) from None


def check(decoded: Decoded, raw_size: int, settings: Settings) -> Checked:
    """Validate every item. All or nothing (422) unless the format takes a partial success (OTLP)."""
    items = decoded.items
    if len(items) > settings.max_traces_per_request:
        raise ApiError(413, "too_many_traces",
                       f"{len(items)} traces in one request; at most {settings.max_traces_per_request}")
    traces: list[TraceIn] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        size = _size(item.trace) if raw_size > settings.max_trace_bytes else 0
        if size > settings.max_trace_bytes:
            if not decoded.partial:
                raise ApiError(413, "trace_too_large",
                               f"trace {index} is {size} bytes; at most {settings.max_trace_bytes}", index=index)
            problems.append(_problem(index, item, "", f"is {size} bytes; at most {settings.max_trace_bytes}"))
            continue
        found = [_problem(index, item, field, reason) for field, reason in item.problems]
        trace = None
        if not found:
            trace, invalid = validate_trace(item.trace)
            found = [_problem(index, item, item.source_field(p["field"]) if p["field"] != "trace" else "", p["reason"])
                     for p in invalid]
        if found:
            problems += found
        elif trace is not None:
            traces.append(trace)
    if problems and not decoded.partial:
        message = "; ".join(f"trace {p['index']}: {p['field'] or 'trace'}: {p['reason']}" for p in problems[:10])
        raise ApiError(422, "invalid_traces", message, format=decoded.format, problems=problems)
    return Checked(traces, problems)


def _size(trace: Any) -> int:
    try:
        return len(orjson.dumps(trace))
    except orjson.JSONEncodeError:
        return 0  # too deep to write: validation names the field


def _problem(index: int, item: Item, field: str, reason: str) -> dict[str, Any]:
    located = item.locate(field)
    return {"index": index, "format": item.format, "field": located or "trace", "reason": reason}


@dataclass(slots=True)
class Outcome:
    """What became of a request's valid traces: ``owed`` were stored for delivery, the others were not, counted by
    reason (``broadcast_off``, ``no_destination``, ``sampled_out``, ``filtered``)."""

    accepted: int = 0
    owed: int = 0
    discarded: dict[str, int] = field(default_factory=dict)

    def answer(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "owed": self.owed, "discarded": self.discarded}

    def warning(self) -> str:
        """The discarded traces as a sentence (empty when none was)."""
        return ", ".join(f"{count} trace{'s' * (count > 1)} not stored for delivery: {why}"
                         for why, count in self.discarded.items())


THREADS = 8
"""Threads that do ingest's work off the event loop (a large body's reading and storing, and what Redis is asked
outside the accept script): enough to keep Redis busy; more would only take the interpreter from the event loop,
and every answer (a refusal under overload too) would wait."""
_THREADS = ThreadPoolExecutor(THREADS, thread_name_prefix="ingest")
INLINE_BYTES = 64 * 1024
INLINE_TRACES = 32
"""A body of up to INLINE_BYTES is decoded on the event loop, and when it holds up to INLINE_TRACES traces they are
validated, routed and stored there too, the accept script sent with the asyncio Redis client: for a trace or a
few, the hop to a thread and back cost more than the work. Otherwise that work is done in a thread, so the loop
never stalls on one request."""

T = TypeVar("T")


async def in_thread(work: Callable[[], T]) -> T:
    """``work()`` in one of ingest's threads, awaited on the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_THREADS, work)


class Room:
    """Whether Redis has room for new traces. Above HIGH_WATER of ``maxmemory`` ingest answers 503, so the memory
    left is for what drains the backlog (Celery messages, leases, settling), never for more backlog."""

    HIGH_WATER = 0.9
    EVERY = 1.0
    """Seconds between two reads of Redis's memory figures (per API process)."""

    def __init__(self) -> None:
        self._read_at = -self.EVERY
        self._full = False

    async def check(self, redis: Redis) -> None:
        """503 ``store_full`` when Redis was nearly full at its last read; read again (in a thread) every EVERY."""
        if time.monotonic() - self._read_at >= self.EVERY:
            self._read_at = time.monotonic()  # on the loop: the requests meanwhile go by the last read
            memory = await in_thread(lambda: redis.info("memory"))
            limit = int(memory.get("maxmemory", 0))
            self._full = limit > 0 and int(memory["used_memory"]) > self.HIGH_WATER * limit
        if self._full:
            raise ApiError(503, "store_full", "Redis is nearly full: nothing was stored; the backlog is draining, "
                           "try again shortly", headers={"Retry-After": "5"})


ROOM = Room()
FULL_RETRY_AFTER = 5
"""Seconds a workspace at its cap of stored bytes is told to wait (deliveries bring it under)."""


ROUTING_ATTEMPTS = 3
"""Accepts tried with a routing read anew, when the workspace's routing changes under each (then 503)."""


@dataclass(frozen=True)
class Accepting:
    """What accepting traces works with: one api process's clients, caches and announcer, and its settings."""

    redis: Redis
    outbox: Outbox
    commits: GroupCommit
    """The outbox's accept on the event loop, joined with the other requests' (api/group_commit.py)."""
    routings: Routings
    announce: Announce
    replicas: int = 0
    cap: int = 0


async def accept(traces: list[TraceIn], *, caller: Caller, accepting: Accepting, inline: bool) -> Outcome:
    """Store each valid trace with the destinations it is owed to; say how many were, and why the others were
    not. 503 ``workspace_full`` when the workspace holds ``cap`` stored bytes already (0: no cap); 401 when the key
    was revoked meanwhile. ``inline``: the traces are packed and stored on the event loop (a few, small), else in a
    thread."""
    if not traces:
        return Outcome()
    workspace, redis, routings = caller.workspace, accepting.redis, accepting.routings

    def forms() -> tuple[list[dict[str, Any]], list[bytes]]:
        stored = [stored_form(trace) for trace in traces]
        return stored, [orjson.dumps(data) for data in stored]

    stored, bodies = forms() if inline else await in_thread(forms)
    for _ in range(ROUTING_ATTEMPTS):
        routing = routings.kept(workspace)
        if routing is None:
            routing = await in_thread(lambda: routings.routing(redis, workspace))
        if not routing.enabled:
            await in_thread(lambda: redis.hincrby(keys.DISCARDED, workspace, len(traces)))
            return Outcome(len(traces), 0, {"broadcast_off": len(traces)})
        try:
            return await _store(stored, bodies, routing, caller=caller, accepting=accepting, inline=inline)
        except StaleRouting:
            routings.forget(workspace)
    raise ApiError(503, "routing_changing", "the workspace's destinations changed while the traces were stored, "
                   f"{ROUTING_ATTEMPTS} times: nothing was stored, try again", headers={"Retry-After": "1"})


async def _store(stored: list[dict[str, Any]], bodies: list[bytes], routing: Routing, *, caller: Caller,
                 accepting: Accepting, inline: bool) -> Outcome:
    workspace, routes, outbox = caller.workspace, routing.routes, accepting.outbox

    def route() -> tuple[list[tuple[bytes, list[str]]], dict[str, int], Counter[str]]:
        """Each trace's body and the destinations it is owed to (their rules run on the traces' text), the
        traces each destination's rules refused, and why the traces owed to none are not."""
        owed_ids, filtered = owed_to(routes, stored)
        owed = [(body, ids) for body, ids in zip(bodies, owed_ids, strict=True)]
        return owed, filtered, Counter(discard_reason(routes, data)
                                       for data, (_, ids) in zip(stored, owed, strict=True) if not ids)

    owed, filtered, discarded = route() if inline else await in_thread(route)
    await ROOM.check(accepting.redis)
    options: dict[str, Any] = {
        "workspace": workspace, "replicas": accepting.replicas, "cap": accepting.cap,
        "guard": Guard(routing.version, caller.key_digest),
        "announcing": {r["id"] for r in routes if r.get("mode", "per_trace") == "per_trace"}}
    try:
        if inline:
            if outbox.codec.look_due():
                await in_thread(outbox.codec.look)  # a newer dictionary looked for off the loop, by one request
            saved = await accepting.commits.accept(owed, **options)
        else:
            saved = await in_thread(lambda: outbox.accept(owed, **options))
    except KeyRevoked:
        raise ApiError(401, "unauthorized", "unknown or revoked ingest key") from None
    except WorkspaceFull as exc:
        raise ApiError(503, "workspace_full", f"{exc}: nothing was stored; its destinations are still owed what it "
                       "sent before, try again once they took it", headers={"Retry-After": str(FULL_RETRY_AFTER)}
                       ) from None
    except NotReplicated as exc:  # stored and owed on the master: announced, so delivered if the master lives on
        announce_new(accepting.announce, exc.stored, owed)
        await _count_filtered(outbox, filtered)
        raise ApiError(503, "not_replicated", f"{exc}: the traces may still be delivered; send them again (a "
                       "per-trace object lands on the same key)", headers={"Retry-After": "1"}) from None
    announce_new(accepting.announce, saved, owed)
    await _count_filtered(outbox, filtered)
    return Outcome(len(stored), len(stored) - discarded.total(), dict(discarded))


async def _count_filtered(outbox: Outbox, filtered: dict[str, int]) -> None:
    if filtered:
        await in_thread(lambda: outbox.filtered(filtered))


def announce_new(announce: Announce, stored: Stored, owed: list[tuple[bytes, list[str]]]) -> None:
    """The new traces of each destination the accept said to announce, to the announcer (api/announcer.py), which
    sends them off the request."""
    by_destination: dict[str, list[int]] = {destination_id: [] for destination_id in stored.announce}
    for trace_id, (_, destinations) in zip(stored.trace_ids, owed, strict=True):
        for destination_id in destinations:
            if destination_id in by_destination:
                by_destination[destination_id].append(trace_id)
    for destination_id, ids in by_destination.items():
        announce(destination_id, ids)


async def count_ignored(redis: Redis, workspace: str, count: int) -> None:
    """Spans that were not LLM requests (``tracedrop_spans_ignored_total``)."""
    await in_thread(lambda: redis.hincrby(keys.SPANS_IGNORED, workspace, count))
