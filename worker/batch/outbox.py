"""The batch side of the durable outbox: export cycles, manifests and the per-destination export lease.

A batch destination's records are the same ``td:o:{dest}`` members that ingest stores for every destination
(scored by the time they were accepted; records in ``td:t:{tid}`` with a refcount). On top of them:

- ``td:b:{dest}``: the schedule (``last_at``: start of the last cycle; ``due_at``: an extra cycle is due then,
  after a failure, a resume or a cycle that ran out of time).
- ``td:bm:{dest}``: the manifest of the file being written: its key, format, privacy mode and record ids. It is
  written *before* the PUT and removed, together with its records, by the one script that acknowledges the file.
  While it exists no other file can be opened, and a retry (after a failure or a killed worker) rewrites exactly
  this key with exactly these records. A record is in at most one manifest and leaves the outbox only with it.
- ``td:bl:{dest}``: the export lease (a random token with a TTL, renewed while the export runs), so one process
  exports a destination at a time; correctness does not depend on it, the manifest does.

Every mutation is one Lua script on the Redis server clock (worker/lua/), like worker/outbox.py's; a file written or
failed changes the destination's state by the same transitions as a per-trace delivery (worker/state.py).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import orjson
from redis import Redis

from worker import keys
from worker.bodies import Bodies
from worker.outbox import BOUNDS
from worker.scripts import Scripts

LEASE_MS = 15_000
"""An export lease not renewed for this long is free again (its holder died)."""
KICK_MS = 10_000
"""After announcing an export, the tick waits this long before announcing it again."""

TICK_FAMILIES = ("stats", "schedule", "manifest", "owed", "export_lease", "export_announced")


@dataclass(frozen=True)
class Manifest:
    """The file being written: the same key and the same records on every attempt until acknowledged."""

    key: str
    format: str
    privacy_mode: bool
    trace_ids: list[int]


class BatchOutbox:
    """Batch export state of every batch destination, and every change to it."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.codec = Bodies(redis)
        self.scripts = Scripts(redis, "tick", "begin", "candidates", "open", "ack", "failed", "lease_renew",
                               "lease_release", "bodies")

    def destinations(self) -> list[tuple[str, int]]:
        """Every batch destination with its cycle length in ms (read without decrypting anything)."""
        ids = sorted(i.decode() for i in self.redis.smembers(keys.DESTINATIONS))
        raw = self.redis.mget([keys.destination(i) for i in ids]) if ids else []
        found = []
        for destination_id, data in zip(ids, raw, strict=True):
            config = orjson.loads(data) if data else {}
            if config.get("mode") == "batch":
                found.append((destination_id, int(config.get("every", 3600)) * 1000))
        return found

    def tick(self) -> list[str]:
        """Batch destinations whose export cycle is due and not announced or running; forget deleted ones."""
        found = self.destinations()
        current = {destination_id for destination_id, _ in found}
        gone = {i.decode() for i in self.redis.smembers(keys.BATCH_DESTINATIONS)} - current
        if current:
            self.redis.sadd(keys.BATCH_DESTINATIONS, *current)
        for destination_id in gone:
            self.forget(destination_id)
        if not found:
            return []
        due = self.scripts.tick(families=[key for d, _ in found for key in keys.families(d, TICK_FAMILIES)],
                                kick_ms=KICK_MS, every_ms=[every_ms for _, every_ms in found])
        return [found[int(at) - 1][0] for at in due]

    def taken(self, destination_id: str) -> None:
        """An announced export reached a worker: the tick may announce the next cycle once this one ends."""
        self.redis.delete(keys.export_announced(destination_id))

    def forget(self, destination_id: str) -> None:
        """A deleted (or no longer batch) destination: drop its batch state; worker/outbox.py owns the records."""
        self.redis.delete(*keys.families(destination_id, keys.BATCH_FAMILIES))
        self.redis.srem(keys.BATCH_DESTINATIONS, destination_id)

    def now_ms(self) -> int:
        """The Redis server's clock, the one every outbox script uses."""
        seconds, micros = self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def begin(self, destination_id: str, token: str, *, every_ms: int) -> int | None:
        """Start a cycle if one is due; return its cutoff (records accepted up to it are exported)."""
        cutoff = self.scripts.begin(export_lease=keys.export_lease(destination_id), stats=keys.stats(destination_id),
                                    schedule=keys.schedule(destination_id), manifest=keys.manifest(destination_id),
                                    owed=keys.owed(destination_id), token=token, every_ms=every_ms)
        return int(cutoff) if cutoff is not None else None

    def pending(self, destination_id: str) -> Manifest | None:
        found = self.redis.hgetall(keys.manifest(destination_id))
        if not found:
            return None
        ids = found[b"ids"].decode()
        return Manifest(key=found[b"key"].decode(), format=found[b"format"].decode(),
                        privacy_mode=found[b"privacy"] == b"1", trace_ids=[int(t) for t in ids.split(",") if t])

    def bodies(self, trace_ids: list[int]) -> dict[int, bytes]:
        found = self.scripts.bodies(ids=trace_ids) if trace_ids else []
        return {trace_id: self.codec.unpack(body) for trace_id, body in zip(trace_ids, found, strict=True)
                if body is not None}

    def candidates(self, destination_id: str, *, cutoff: int, limit: int, max_bytes: int) -> list[tuple[int, bytes]]:
        flat = self.scripts.candidates(owed=keys.owed(destination_id), cutoff=cutoff, limit=limit, budget=max_bytes)
        return [(int(flat[i]), self.codec.unpack(flat[i + 1])) for i in range(0, len(flat), 2)]

    def open(self, destination_id: str, token: str, *, location: str, stem: str, extension: str, fmt: str,
             privacy_mode: bool, trace_ids: list[int]) -> Manifest | None:
        """Write the manifest of a new file (before its PUT). None: the lease was lost or a file is pending."""
        counter = keys.file_counter(hashlib.sha256(f"{location}\n{stem}".encode()).hexdigest()[:24])
        found = self.scripts.open(export_lease=keys.export_lease(destination_id),
                                  manifest=keys.manifest(destination_id), owed=keys.owed(destination_id),
                                  counter=counter, token=token, stem=stem,
                                  extension=extension, format=fmt, privacy="1" if privacy_mode else "0", ids=trace_ids)
        if not found:
            return None
        return Manifest(key=found[0].decode(), format=fmt, privacy_mode=privacy_mode,
                        trace_ids=[int(t) for t in found[1:]])

    def ack(self, destination_id: str, key: str) -> int:
        """The file at ``key`` is written: its records leave the outbox. -1: that manifest is no longer pending."""
        return int(self.scripts.ack(manifest=keys.manifest(destination_id), owed=keys.owed(destination_id),
                                    retrying=keys.retrying(destination_id), histogram=keys.histogram(destination_id),
                                    stats=keys.stats(destination_id), stored=keys.STORED_BYTES, key=key,
                                    bounds=BOUNDS))

    def failed(self, destination_id: str, *, records: int, error: dict[str, Any], retry_ms: int = 0,
               park: bool = False, probe_ms: int = 0) -> None:
        """A failed export: retry after ``retry_ms``, or park the destination until a probe passes."""
        self.scripts.failed(stats=keys.stats(destination_id), schedule=keys.schedule(destination_id), records=records,
                            error=orjson.dumps(error), retry_ms=retry_ms, park="1" if park else "0", probe_ms=probe_ms)

    def continue_soon(self, destination_id: str) -> None:
        """The cycle ran out of time with records left: the next tick continues it."""
        self.redis.hset(keys.schedule(destination_id), "due_at", 0)

    def lease(self, destination_id: str) -> Lease | None:
        """The destination's export lease, or None while another process holds it."""
        token = secrets.token_hex(16)
        if self.redis.set(keys.export_lease(destination_id), token, nx=True, px=LEASE_MS):
            return Lease(self, destination_id, token)
        return None

    def renew(self, destination_id: str, token: str) -> bool:
        return bool(self.scripts.lease_renew(lease=keys.export_lease(destination_id), token=token, ttl_ms=LEASE_MS))

    def release(self, destination_id: str, token: str) -> None:
        self.scripts.lease_release(lease=keys.export_lease(destination_id), token=token)


class Lease:
    """The export lease of one destination, renewed by a background thread until released."""

    def __init__(self, batch: BatchOutbox, destination_id: str, token: str) -> None:
        self.batch = batch
        self.destination_id = destination_id
        self.token = token
        self.held = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_MS / 3000):
            try:
                self.held = self.batch.renew(self.destination_id, self.token)
            except Exception:
                self.held = False
            if not self.held:
                return

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        self.batch.release(self.destination_id, self.token)
        self.held = False
