"""The durable record of what is owed to each destination, in Redis.

Per destination ``td:o:{id}`` is a sorted set of trace ids scored by the millisecond (Redis server time) at
which the trace is next due: now when accepted, now + lease while a worker holds it, now + backoff after a
transient failure. A trace leaves it only when written (or dead-lettered), so a worker killed at any point
loses nothing: its lease runs out and the trace is due again. Each trace's record ``td:t:{tid}`` is kept once,
however many destinations owe it: one string, a ``HEADER_BYTES`` header (how many destinations still owe it, when it was
accepted) and then its stored body (worker/bodies.py); ``worker/lua/lib/trace.lua`` is the one place that knows that
layout (and the hash of earlier versions). Every mutation is one Lua script (``worker/lua/``, loaded by
worker/scripts.py): atomic, one round trip, server clock. What a delivery does to the destination's state is one of
the transitions of worker/state.py.

Around that: ``td:s:{id}`` holds the destination's counters and state (worker/state.py), ``td:r:{id}`` the owed
traces that failed at least once, ``td:l:{id}`` the lanes (drains in progress, each with a lease) that cap how many
worker slots one destination may hold, ``td:dl:{id}`` and ``td:dr:{id}`` the dead letters and their reasons,
``td:h:{id}`` the latency histogram; ``td:m:stored_bytes`` each workspace's stored bytes (the records' bodies, each
counted once), which ``TRACEDROP_MAX_WORKSPACE_BYTES`` caps.

Every script but ``accept`` may run when Redis is at ``maxmemory``: delivering is what frees memory, so only new
traces are refused (503) when Redis is full.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from worker import keys
from worker.bodies import Bodies
from worker.scripts import HEADER_BYTES as HEADER_BYTES
from worker.scripts import Scripts
from worker.state import DestinationState

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
BOUNDS = " ".join(str(bound) for bound in LATENCY_BUCKETS)
"""The histogram's bucket bounds as the scripts take them (and name the buckets)."""
BYTES_SAMPLE = 200
"""A status sums the stored size of at most this many owed traces' bodies (and scales the sum to the backlog)."""
STATUS_FAMILIES = ("owed", "stats", "dead_letters", "retrying", "lanes", "histogram")


@dataclass(frozen=True)
class Claimed:
    trace_id: int
    body: bytes


@dataclass(frozen=True)
class Claim:
    """What a claim got: traces under the lane, or why none (``parked``, ``held``, ``busy``, ``empty``)."""

    outcome: str
    traces: list[Claimed] = field(default_factory=list)
    limit: int = 0
    """How many traces the claim could have taken: the limit asked for, or the trial limit of a destination that
    is failing or was never written to."""


@dataclass(frozen=True)
class Status:
    """One destination's state and backlog, read at one instant (``now_ms``, Redis clock)."""

    state: DestinationState
    backlog: int
    oldest_accepted_ms: int | None
    dead_letters: int
    retrying: int
    lanes: int
    histogram: dict[str, float]
    now_ms: int
    backlog_bytes: int = 0
    """Redis bytes of the owed traces' stored bodies: exact up to BYTES_SAMPLE owed traces, estimated beyond."""

    @property
    def oldest_age_seconds(self) -> float | None:
        if self.oldest_accepted_ms is None:
            return None
        return round(max(0, self.now_ms - self.oldest_accepted_ms) / 1000, 3)

    def count(self, name: str) -> int:
        return self.state.counts[name]


REPLICA_WAIT_MS = 1000
"""How long ingest waits for replicas to acknowledge new traces when ``TRACEDROP_REDIS_MIN_REPLICAS`` is set."""
ANNOUNCED_MS = 1000
"""How long a destination counts as announced when no lane found it with nothing due meanwhile: the most an
announcement lost on its way (or a lane that died) delays the next."""


@dataclass(frozen=True)
class Stored:
    """Traces an accept stored: their ids, and the destinations to announce them to (the others were announced
    already and are being drained, or are not announced at all)."""

    trace_ids: list[int]
    announce: list[str]


class NotReplicated(Exception):
    """Fewer replicas than required acknowledged new traces in time; they are stored on the master and owed."""

    def __init__(self, stored: Stored, acknowledged: int, required: int) -> None:
        super().__init__(f"{acknowledged} of {required} replicas acknowledged within {REPLICA_WAIT_MS} ms")
        self.stored, self.acknowledged, self.required = stored, acknowledged, required


class WorkspaceFull(Exception):
    """The workspace holds its cap of stored bytes (TRACEDROP_MAX_WORKSPACE_BYTES): nothing was stored."""

    def __init__(self, workspace: str, cap: int) -> None:
        super().__init__(f"workspace {workspace!r} holds its cap of {cap} stored bytes")
        self.workspace, self.cap = workspace, cap


class StaleRouting(Exception):
    """The workspace's routing changed since the caller read it (``Guard.version``): nothing was stored."""


class KeyRevoked(Exception):
    """The ingest key the traces came with is gone: nothing was stored."""


@dataclass(frozen=True)
class Guard:
    """What an accept checks first, in the same script: the workspace's routing is still at ``version`` (so the
    caller routed by today's destinations and broadcast switch) and the ingest key (by digest) still exists."""

    version: str
    key_digest: str


def _stored(reply: list[Any], acknowledged: int | None, call: dict[str, Any], replicas: int) -> Stored:
    """What the accept script's ``reply`` says (accept.lua), as Stored or the exception it means."""
    first, workspace = int(reply[0]), call["workspace"]
    if first == -2:
        raise StaleRouting(workspace)
    if first == -3:
        raise KeyRevoked(workspace)
    if first < 0:
        raise WorkspaceFull(workspace, call["cap"])
    ids = call["destination_ids"].split()
    stored = Stored([first + i for i in range(call["count"])], [ids[int(at) - 1] for at in reply[1].split()])
    if replicas and int(acknowledged or 0) < replicas:
        raise NotReplicated(stored, int(acknowledged or 0), replicas)
    return stored


class Outbox:
    """What each destination is owed, and every change to it."""

    def __init__(self, redis: Redis, aredis: AsyncRedis | None = None) -> None:
        self.redis, self.aredis = redis, aredis
        self.codec = Bodies(redis)
        self.scripts = Scripts(redis, "accept", "claim", "renew", "release", "delivered", "retry", "park", "resume",
                               "probe_failed", "dead", "replay", "forget", "stale", "status", "bodies", "filtered",
                               aredis=aredis)

    def accept(self, owed: list[tuple[bytes, list[str]]], *, workspace: str = "", replicas: int = 0,
               cap: int = 0, guard: Guard | None = None, announcing: Collection[str] = ()) -> Stored:
        """Store traces with the destinations each is owed to, and count them, atomically; return their ids, and
        which of the destinations ``announcing`` to announce them to (Stored.announce).

        Refused as a whole (a RedisError) when Redis is unreachable or full, and (WorkspaceFull) when the workspace's
        stored bytes already reach ``cap`` (0: no cap); a trace's bytes count once, however many destinations owe it,
        until its record is released. With ``replicas``, Redis ``WAIT``s on
        the same connection until that many replicas hold the traces, for at most REPLICA_WAIT_MS; when fewer did,
        NotReplicated says so (the traces are stored on the master all the same, and owed). With a ``guard``,
        StaleRouting or KeyRevoked when it does not hold, nothing stored. While the deployment has no compression
        dictionary, the bodies of owed traces are kept as its samples (worker/bodies.py) by the same script.
        """
        call = self._accept_call(owed, workspace, cap, guard, announcing, self.codec.pack)
        if not replicas:
            return _stored(self.scripts.accept(**call), None, call, replicas)
        with self.redis.pipeline(transaction=False) as pipe:
            self.scripts.accept(client=pipe, **call)
            pipe.execute_command("WAIT", replicas, REPLICA_WAIT_MS)
            reply, acknowledged = pipe.execute()
        return _stored(reply, acknowledged, call, replicas)

    async def accept_async(self, owed: list[tuple[bytes, list[str]]], *, workspace: str = "", replicas: int = 0,
                           cap: int = 0, guard: Guard | None = None, announcing: Collection[str] = ()) -> Stored:
        """``accept`` on the asyncio client, with no other I/O: the bodies are packed with the dictionary this
        process knows (when ``codec.look_due()``, call ``codec.look()`` off the event loop first)."""
        if self.aredis is None:
            raise TypeError("this outbox has no asyncio client")
        call = self._accept_call(owed, workspace, cap, guard, announcing, self.codec.pack_as_known)
        if not replicas:
            return _stored(await self.scripts.accept.run_async(**call), None, call, replicas)
        async with self.aredis.pipeline(transaction=False) as pipe:
            await self.scripts.accept.run_async(client=pipe, **call)
            pipe.execute_command("WAIT", replicas, REPLICA_WAIT_MS)
            reply, acknowledged = await pipe.execute()
        return _stored(reply, acknowledged, call, replicas)

    def _accept_call(self, owed: list[tuple[bytes, list[str]]], workspace: str, cap: int, guard: Guard | None,
                     announcing: Collection[str], pack: Callable[[bytes], bytes]) -> dict[str, Any]:
        positions: dict[str, int] = {}
        traces: list[Any] = []
        for body, destinations in owed:
            traces += [pack(body), len(destinations)]
            traces += [positions.setdefault(d, len(positions) + 1) for d in destinations]
        return {
            "sequence": keys.SEQUENCE, "destinations": keys.DESTINATIONS, "accepted": keys.ACCEPTED,
            "stored": keys.STORED_BYTES, "samples": keys.DICTIONARY_SAMPLES,
            "routes_version": keys.routes_version(workspace) if guard else "",
            "ingest_key": keys.ingest_key(guard.key_digest) if guard else "",
            "per_destination": [key for d in positions for key in (keys.owed(d), keys.stats(d), keys.announced(d))],
            "workspace": workspace, "cap": cap, "count": len(owed), "destination_ids": " ".join(positions),
            "version": guard.version if guard else "", "keep_samples": self.codec.samples_wanted(),
            "announced": "".join("1" if d in announcing else "0" for d in positions), "announce_ms": ANNOUNCED_MS,
            "traces": traces}

    def claim(self, destination_id: str, lane: str, *, wanted: list[int], limit: int, lease_ms: int,
              lanes: int, trial: int) -> Claim:
        """Lease up to ``limit`` due traces (``wanted`` first) to ``lane``, if the destination takes one more lane
        (at most ``lanes``; one, and at most ``trial`` traces, while it is failing or was never written to)."""
        flat = self.scripts.claim(stats=keys.stats(destination_id), lanes=keys.lanes(destination_id),
                                  owed=keys.owed(destination_id), announced=keys.announced(destination_id),
                                  token=lane, limit=limit, lease_ms=lease_ms,
                                  lane_cap=lanes, trial=trial, wanted=wanted)
        outcome = flat[0].decode()
        if outcome != "ok":
            return Claim(outcome)
        traces = [Claimed(int(flat[i]), self.codec.unpack(flat[i + 1])) for i in range(2, len(flat), 2)]
        return Claim(outcome, traces, limit=int(flat[1]))

    def renew(self, destination_id: str, lane: str, trace_ids: list[int], *, lease_ms: int, slow: bool) -> bool:
        """Extend a working lane's lease and its traces'; False if the lane had expired."""
        return bool(self.scripts.renew(lanes=keys.lanes(destination_id), owed=keys.owed(destination_id),
                                       stats=keys.stats(destination_id), token=lane, lease_ms=lease_ms,
                                       slow="1" if slow else "0", ids=trace_ids))

    def release(self, destination_id: str, lane: str) -> None:
        self.scripts.release(lanes=keys.lanes(destination_id), token=lane)

    def delivered(self, destination_id: str, trace_ids: list[int], *, slow: bool = False) -> int:
        return int(self.scripts.delivered(owed=keys.owed(destination_id), retrying=keys.retrying(destination_id),
                                          histogram=keys.histogram(destination_id), stats=keys.stats(destination_id),
                                          stored=keys.STORED_BYTES, slow="1" if slow else "0", bounds=BOUNDS,
                                          ids=trace_ids))

    def retry(self, destination_id: str, trace_ids: list[int], *, delay_ms: int, error: dict[str, Any]) -> None:
        """The traces are due again after ``delay_ms``, and the destination takes no claim before then."""
        self.scripts.retry(owed=keys.owed(destination_id), retrying=keys.retrying(destination_id),
                           stats=keys.stats(destination_id), delay_ms=delay_ms, error=orjson.dumps(error),
                           ids=trace_ids)

    def park(self, destination_id: str, trace_ids: list[int], *, error: dict[str, Any], probe_ms: int) -> None:
        self.scripts.park(owed=keys.owed(destination_id), retrying=keys.retrying(destination_id),
                          stats=keys.stats(destination_id), error=orjson.dumps(error), probe_ms=probe_ms,
                          ids=trace_ids)

    def resume(self, destination_id: str) -> int:
        """A probe or an update passed the connection test: unpark, and make what is owed due now (how many)."""
        return int(self.scripts.resume(stats=keys.stats(destination_id), owed=keys.owed(destination_id)))

    def probe_failed(self, destination_id: str, *, error: dict[str, Any], delay_ms: int) -> None:
        self.scripts.probe_failed(stats=keys.stats(destination_id), error=orjson.dumps(error), probe_ms=delay_ms)

    def dead_letter(self, destination_id: str, trace_ids: list[int], *, reason: dict[str, Any]) -> None:
        self.scripts.dead(owed=keys.owed(destination_id), retrying=keys.retrying(destination_id),
                          dead_letters=keys.dead_letters(destination_id),
                          dead_reasons=keys.dead_reasons(destination_id), stats=keys.stats(destination_id),
                          reason=orjson.dumps(reason), ids=trace_ids)

    def filtered(self, counts: dict[str, int]) -> None:
        """Count, per destination, the traces of an accepted request that its filter rules refused."""
        if counts:
            self.scripts.filtered(destinations=keys.DESTINATIONS, stats=[keys.stats(d) for d in counts],
                                  ids=" ".join(counts), counts=list(counts.values()))

    def replay(self, destination_id: str) -> list[int]:
        """Every dead letter owed again, due now; their ids."""
        return [int(i) for i in self.scripts.replay(dead_letters=keys.dead_letters(destination_id),
                                                    dead_reasons=keys.dead_reasons(destination_id),
                                                    owed=keys.owed(destination_id),
                                                    stats=keys.stats(destination_id))]

    def forget(self, destination_id: str) -> None:
        families = keys.families(destination_id, keys.OUTBOX_FAMILIES)
        named: dict[str, Any] = dict(zip(keys.OUTBOX_FAMILIES, families, strict=True))
        self.scripts.forget(**named, stored=keys.STORED_BYTES)

    def stale(self, destination_ids: list[str], *, grace_ms: int) -> tuple[list[str], list[str]]:
        """Destinations owed something due for over ``grace_ms``, and parked ones due a probe."""
        stale, probe = self.scripts.stale(
            stats_and_owed=[key for d in destination_ids for key in (keys.stats(d), keys.owed(d))], grace_ms=grace_ms)
        return [destination_ids[int(at) - 1] for at in stale], [destination_ids[int(at) - 1] for at in probe]

    def statuses(self, destination_ids: list[str]) -> dict[str, Status]:
        """State and backlog of each destination, in one round trip."""
        if not destination_ids:
            return {}
        *rows, now = self.scripts.status(
            families=[key for d in destination_ids for key in keys.families(d, STATUS_FAMILIES)], sample=BYTES_SAMPLE)
        found = {}
        for destination_id, (stats, backlog, oldest, dead, retrying, lanes, histogram, stored) in zip(
                destination_ids, rows, strict=True):
            found[destination_id] = Status(
                state=DestinationState.parse(_pairs(stats)), backlog=int(backlog),
                oldest_accepted_ms=int(oldest) if oldest else None, dead_letters=int(dead), retrying=int(retrying),
                lanes=int(lanes), histogram={k: float(v) for k, v in _pairs(histogram).items()}, now_ms=int(now),
                backlog_bytes=int(stored))
        return found

    def status(self, destination_id: str) -> Status:
        return self.statuses([destination_id])[destination_id]

    def bodies(self, trace_ids: list[Any]) -> list[bytes | None]:
        """The stored bodies of traces, as stored (None once a record is released)."""
        return list(self.scripts.bodies(ids=trace_ids)) if trace_ids else []

    def dead_letters(self, destination_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.redis.zrange(keys.dead_letters(destination_id), 0, limit - 1, withscores=True)
        reasons = self.redis.hmget(keys.dead_reasons(destination_id), [tid for tid, _ in rows]) if rows else []
        letters = []
        for (tid, score), reason, body in zip(rows, reasons, self.bodies([tid for tid, _ in rows]), strict=True):
            trace = orjson.loads(self.codec.unpack(body)) if body else {}
            letters.append({"trace_id": trace.get("id"), "seq": int(tid), "at_ms": int(score),
                            "reason": orjson.loads(reason) if reason else None})
        return letters


def _pairs(flat: list[bytes]) -> dict[str, str]:
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}
