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

Every mutation is one Lua script on the Redis server clock, like worker/outbox.py.
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
from worker.outbox import BODIES, LATENCY_BUCKETS, SERVER_NOW, SETTLE, TRACE

LEASE_MS = 15_000
"""An export lease not renewed for this long is free again (its holder died)."""
KICK_MS = 10_000
"""After announcing an export, the tick waits this long before announcing it again."""

_DUE = """
local function due(dest, every, now)
  if redis.call('HGET', stats_key(dest), 'parked') == '1' then return false end
  local b = schedule_key(dest)
  local due_at = redis.call('HGET', b, 'due_at')
  if due_at then return tonumber(due_at) <= now end
  if redis.call('EXISTS', manifest_key(dest)) == 1 then return true end
  local last = redis.call('HGET', b, 'last_at')
  if not last then redis.call('HSET', b, 'last_at', now) return false end
  if now < tonumber(last) + every then return false end
  if redis.call('ZCARD', owed_key(dest)) == 0 then redis.call('HSET', b, 'last_at', now) return false end
  return true
end
"""

_TICK = SERVER_NOW + _DUE + """
-- ARGV: kick ms, then pairs of destination, every ms
local out = {}
for i = 2, #ARGV, 2 do
  local dest = ARGV[i]
  if redis.call('EXISTS', export_lease_key(dest)) == 0 and due(dest, tonumber(ARGV[i + 1]), now) then
    if redis.call('SET', export_announced_key(dest), 1, 'NX', 'PX', ARGV[1]) then out[#out + 1] = dest end
  end
end
return out
"""

_BEGIN = SERVER_NOW + _DUE + """
-- ARGV: destination, token, every ms. Under the lease: is a cycle due? Then it starts now; returns the cutoff.
local dest = ARGV[1]
if redis.call('GET', export_lease_key(dest)) ~= ARGV[2] then return false end
if not due(dest, tonumber(ARGV[3]), now) then return false end
redis.call('HSET', schedule_key(dest), 'last_at', now)
redis.call('HDEL', schedule_key(dest), 'due_at')
return now
"""

_CANDIDATES = keys.LUA + TRACE + """
-- ARGV: destination, cutoff ms, limit, byte budget: the oldest records accepted up to the cutoff, with bodies
local owed = owed_key(ARGV[1])
local budget = tonumber(ARGV[4])
local out, total = {}, 0
for _, tid in ipairs(redis.call('ZRANGEBYSCORE', owed, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
  local body = trace_body(body_key(tid))
  if not body then
    redis.call('ZREM', owed, tid)
  else
    if #out > 0 and total + #body > budget then break end
    total = total + #body
    out[#out + 1] = tid
    out[#out + 1] = body
  end
end
return out
"""

_OPEN = SERVER_NOW + """
-- ARGV: destination, token, counter key, key stem, extension, format, privacy, trace ids...
-- false: the lease was lost, a file is pending, or none of the records is still owed
local dest = ARGV[1]
local manifest = manifest_key(dest)
if redis.call('GET', export_lease_key(dest)) ~= ARGV[2] then return false end
if redis.call('EXISTS', manifest) == 1 then return false end
local out = {''}
for i = 8, #ARGV do
  if redis.call('ZSCORE', owed_key(dest), ARGV[i]) then out[#out + 1] = ARGV[i] end
end
if #out == 1 then return false end
local n = redis.call('INCR', ARGV[3])
redis.call('EXPIRE', ARGV[3], 3600)
local key = ARGV[4]
if n > 1 then key = key .. '-' .. (n - 1) end
out[1] = key .. ARGV[5]
redis.call('HSET', manifest, 'key', out[1], 'format', ARGV[6], 'privacy', ARGV[7],
           'ids', table.concat(out, ',', 2), 'at', now)
return out
"""

_ACK = SERVER_NOW + SETTLE + """
-- ARGV: destination, key, bucket bounds (count), bounds...: the file is written; its records leave the outbox
local dest = ARGV[1]
local manifest = manifest_key(dest)
if redis.call('HGET', manifest, 'key') ~= ARGV[2] then return -1 end
local nb = tonumber(ARGV[3])
local done = 0
for tid in string.gmatch(redis.call('HGET', manifest, 'ids'), '[^,]+') do
  done = done + settle(dest, tid, 4, nb)
end
redis.call('DEL', manifest)
local stats = stats_key(dest)
redis.call('HINCRBY', stats, 'delivered', done)
redis.call('HINCRBY', stats, 'files', 1)
redis.call('HSET', stats, 'last_success_at', now, 'failures', 0, 'state', 'healthy')
redis.call('HDEL', stats, 'last_error')
return done
"""

_FAILED = SERVER_NOW + """
-- ARGV: destination, records affected, error json, retry delay ms, park ('1' or '0'), probe delay ms
local dest = ARGV[1]
local stats = stats_key(dest)
if ARGV[5] == '1' then
  redis.call('HINCRBY', stats, 'failed', tonumber(ARGV[2]))
  redis.call('HSET', stats, 'state', 'failing', 'parked', '1', 'last_error', ARGV[3], 'last_error_at', now,
             'next_probe_at', now + tonumber(ARGV[6]))
  redis.call('HSET', schedule_key(dest), 'due_at', now)
else
  redis.call('HINCRBY', stats, 'retried', tonumber(ARGV[2]))
  redis.call('HINCRBY', stats, 'failures', 1)
  redis.call('HSET', stats, 'state', 'failing', 'last_error', ARGV[3], 'last_error_at', now)
  redis.call('HSET', schedule_key(dest), 'due_at', now + tonumber(ARGV[4]))
end
return 1
"""

_RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


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
        self._tick = redis.register_script(_TICK)
        self._begin = redis.register_script(_BEGIN)
        self._candidates = redis.register_script(_CANDIDATES)
        self._open = redis.register_script(_OPEN)
        self._ack = redis.register_script(_ACK)
        self._failed = redis.register_script(_FAILED)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._bodies = redis.register_script(BODIES)

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
        args: list[Any] = [KICK_MS]
        for destination_id, every_ms in found:
            args += [destination_id, every_ms]
        return [d.decode() for d in self._tick(args=args)]

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
        cutoff = self._begin(args=[destination_id, token, every_ms])
        return int(cutoff) if cutoff is not None else None

    def pending(self, destination_id: str) -> Manifest | None:
        found = self.redis.hgetall(keys.manifest(destination_id))
        if not found:
            return None
        ids = found[b"ids"].decode()
        return Manifest(key=found[b"key"].decode(), format=found[b"format"].decode(),
                        privacy_mode=found[b"privacy"] == b"1", trace_ids=[int(t) for t in ids.split(",") if t])

    def bodies(self, trace_ids: list[int]) -> dict[int, bytes]:
        found = self._bodies(args=trace_ids) if trace_ids else []
        return {trace_id: self.codec.unpack(body) for trace_id, body in zip(trace_ids, found, strict=True)
                if body is not None}

    def candidates(self, destination_id: str, *, cutoff: int, limit: int, max_bytes: int) -> list[tuple[int, bytes]]:
        flat = self._candidates(args=[destination_id, cutoff, limit, max_bytes])
        return [(int(flat[i]), self.codec.unpack(flat[i + 1])) for i in range(0, len(flat), 2)]

    def open(self, destination_id: str, token: str, *, location: str, stem: str, extension: str, fmt: str,
             privacy_mode: bool, trace_ids: list[int]) -> Manifest | None:
        """Write the manifest of a new file (before its PUT). None: the lease was lost or a file is pending."""
        counter = keys.file_counter(hashlib.sha256(f"{location}\n{stem}".encode()).hexdigest()[:24])
        found = self._open(args=[destination_id, token, counter, stem, extension, fmt, "1" if privacy_mode else "0",
                                 *trace_ids])
        if not found:
            return None
        return Manifest(key=found[0].decode(), format=fmt, privacy_mode=privacy_mode,
                        trace_ids=[int(t) for t in found[1:]])

    def ack(self, destination_id: str, key: str) -> int:
        """The file at ``key`` is written: its records leave the outbox. -1: that manifest is no longer pending."""
        return int(self._ack(args=[destination_id, key, len(LATENCY_BUCKETS), *LATENCY_BUCKETS]))

    def failed(self, destination_id: str, *, records: int, error: dict[str, Any], retry_ms: int = 0,
               park: bool = False, probe_ms: int = 0) -> None:
        """A failed export: retry after ``retry_ms``, or park the destination until a probe passes."""
        self._failed(args=[destination_id, records, orjson.dumps(error), retry_ms, "1" if park else "0", probe_ms])

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
        return bool(self._renew(keys=[keys.export_lease(destination_id)], args=[token, LEASE_MS]))

    def release(self, destination_id: str, token: str) -> None:
        self._release(keys=[keys.export_lease(destination_id)], args=[token])


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
