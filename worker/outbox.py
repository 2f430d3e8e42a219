"""The durable record of what is owed to each destination, in Redis.

Per destination ``td:o:{id}`` is a sorted set of trace ids scored by the millisecond (Redis server time) at
which the trace is next due: now when accepted, now + lease while a worker holds it, now + backoff after a
transient failure. A trace leaves it only when written (or dead-lettered), so a worker killed at any point
loses nothing: its lease runs out and the trace is due again. Each trace's record ``td:t:{tid}`` is kept once,
however many destinations owe it: one string, a 12-byte header (how many destinations still owe it, when it was
accepted) and then its stored body (worker/bodies.py). A record stored by an earlier version is a hash (``b`` the
body, ``n`` the count, ``a`` accepted at) and is read, counted down and released just the same (``TRACE``). Every
mutation is one Lua script: atomic, one round trip, server clock.

Around that: ``td:s:{id}`` holds counters and state (``hold_until`` after a transient failure, ``parked`` after a
destination error), ``td:r:{id}`` the owed traces that failed at least once, ``td:l:{id}`` the lanes (drains in
progress, each with a lease) that cap how many worker slots one destination may hold, ``td:dl:{id}`` and
``td:dr:{id}`` the dead letters and their reasons, ``td:h:{id}`` the latency histogram.

Every script but ``accept`` may run when Redis is at ``maxmemory``: delivering is what frees memory, so only new
traces are refused (503) when Redis is full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from redis import Redis

from worker import keys
from worker.bodies import Bodies

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

SERVER_NOW = keys.LUA + (
    "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n")
"""Every script starts with the key builders of worker/keys.py and ``now``, the Redis server's clock in ms."""
ALLOW_OOM = "#!lua flags=allow-oom\n"
"""Shebang of scripts that must run even when Redis is full (they free memory or barely use any)."""

HEADER_BYTES = 12
"""A trace's record starts with how many destinations still owe it (4 bytes) and when it was accepted (ms, 8)."""
TRACE = f"local HEADER = {HEADER_BYTES}\n" + """
-- A trace's record: '>I4d' (destinations still owing it, accepted at ms) then the body; or, as stored by an earlier
-- version, a hash of b (body), n (count), a (accepted at ms).
local function trace_record(owed, accepted, body) return struct.pack('>I4d', owed, accepted) .. body end
local function trace_body(tkey)  -- the stored body, or false once the record is gone
  local kind = redis.call('TYPE', tkey).ok
  if kind == 'string' then return redis.call('GETRANGE', tkey, HEADER, -1) end
  if kind == 'hash' then return redis.call('HGET', tkey, 'b') end
  return false
end
local function trace_accepted(tkey)  -- ms, or nil once the record is gone
  local kind = redis.call('TYPE', tkey).ok
  if kind == 'string' then return (struct.unpack('>d', redis.call('GETRANGE', tkey, 4, HEADER - 1))) end
  if kind == 'hash' then return tonumber(redis.call('HGET', tkey, 'a')) end
  return nil
end
local function trace_bytes(tkey)  -- the stored body's size
  local kind = redis.call('TYPE', tkey).ok
  if kind == 'string' then return redis.call('STRLEN', tkey) - HEADER end
  if kind == 'hash' then return redis.call('HSTRLEN', tkey, 'b') end
  return 0
end
local function trace_released(tkey)  -- one destination fewer owes it; the record goes with the last
  local kind = redis.call('TYPE', tkey).ok
  if kind == 'string' then
    local owed = struct.unpack('>I4', redis.call('GETRANGE', tkey, 0, 3)) - 1
    if owed <= 0 then redis.call('DEL', tkey) else redis.call('SETRANGE', tkey, 0, struct.pack('>I4', owed)) end
  elseif kind == 'hash' and redis.call('HINCRBY', tkey, 'n', -1) <= 0 then
    redis.call('DEL', tkey)
  end
end
"""
"""Lua of every script that touches a trace's record: the one place that knows its layout (both of them)."""

_ACCEPT = SERVER_NOW + TRACE + """
-- ARGV: workspace ('' for none), n, then per trace: body, destination count, destination ids...
-- A destination deleted since the caller read the routes is skipped; nothing is owed to it.
local n = tonumber(ARGV[2])
local first = redis.call('INCRBY', SEQUENCE, n) - n + 1
local per_dest, exists = {}, {}
local i = 3
for k = 0, n - 1 do
  local tid = first + k
  local body = ARGV[i]
  local count = tonumber(ARGV[i + 1])
  i = i + 2
  local owed = 0
  for j = 1, count do
    local dest = ARGV[i]
    i = i + 1
    if exists[dest] == nil then exists[dest] = redis.call('SISMEMBER', DESTINATIONS, dest) == 1 end
    if exists[dest] then
      redis.call('ZADD', owed_key(dest), now, tid)
      per_dest[dest] = (per_dest[dest] or 0) + 1
      owed = owed + 1
    end
  end
  if owed > 0 then redis.call('SET', body_key(tid), trace_record(owed, now, body)) end
end
for dest, count in pairs(per_dest) do redis.call('HINCRBY', stats_key(dest), 'accepted', count) end
if ARGV[1] ~= '' then redis.call('HINCRBY', ACCEPTED, ARGV[1], n) end
return first
"""

_CLAIM = ALLOW_OOM + SERVER_NOW + TRACE + """
-- ARGV: destination, lane token, limit, lease ms, lane cap, trial limit, wanted trace ids...
-- {'ok', limit applied, tid, body, ...} under the lane (taken or renewed); otherwise
-- {'parked'|'held'|'busy'|'empty'} and the caller holds no lane. A destination failing, slow or never yet written
-- to gets one lane only; one failing or never yet written to claims at most the trial limit at once.
local dest, token = ARGV[1], ARGV[2]
local stats, lanes, owed = stats_key(dest), lanes_key(dest), owed_key(dest)
local s = redis.call('HMGET', stats, 'parked', 'hold_until', 'state', 'slow', 'last_success_at')
if s[1] == '1' then redis.call('ZREM', lanes, token) return {'parked'} end
if tonumber(s[2] or 0) > now then redis.call('ZREM', lanes, token) return {'held'} end
redis.call('ZREMRANGEBYSCORE', lanes, '-inf', now)
local unproven = s[3] == 'failing' or not s[5]
if not redis.call('ZSCORE', lanes, token) then
  local cap = tonumber(ARGV[5])
  if unproven or s[4] == '1' then cap = 1 end
  if redis.call('ZCARD', lanes) >= cap then return {'busy'} end
end
local limit = tonumber(ARGV[3])
if unproven then limit = math.min(limit, tonumber(ARGV[6])) end
local lease = now + tonumber(ARGV[4])
local claimed = {}
for i = 7, #ARGV do
  if #claimed >= limit then break end
  local score = redis.call('ZSCORE', owed, ARGV[i])
  if score and tonumber(score) <= now then
    redis.call('ZADD', owed, 'XX', lease, ARGV[i])
    claimed[#claimed + 1] = ARGV[i]
  end
end
if #claimed < limit then
  for _, tid in ipairs(redis.call('ZRANGEBYSCORE', owed, '-inf', now, 'LIMIT', 0, limit - #claimed)) do
    redis.call('ZADD', owed, 'XX', lease, tid)
    claimed[#claimed + 1] = tid
  end
end
local out = {'ok', limit}
for _, tid in ipairs(claimed) do
  local body = trace_body(body_key(tid))
  if body then
    out[#out + 1] = tid
    out[#out + 1] = body
  else
    redis.call('ZREM', owed, tid)
  end
end
if #out == 2 then redis.call('ZREM', lanes, token) return {'empty'} end
redis.call('ZADD', lanes, lease, token)
return out
"""

_RENEW = ALLOW_OOM + SERVER_NOW + """
-- ARGV: destination, lane token, lease ms, slow ('1'/'0'), trace ids...: a lane still working extends its lease
-- and its traces' (never shortening a later due time); 0 if the lane had already expired.
local dest = ARGV[1]
local lanes = lanes_key(dest)
if not redis.call('ZSCORE', lanes, ARGV[2]) then return 0 end
local lease = now + tonumber(ARGV[3])
redis.call('ZADD', lanes, 'XX', lease, ARGV[2])
for i = 5, #ARGV do redis.call('ZADD', owed_key(dest), 'XX', 'GT', lease, ARGV[i]) end
if ARGV[4] == '1' then redis.call('HSET', stats_key(dest), 'slow', '1') end
return 1
"""

_RELEASE = ALLOW_OOM + keys.LUA + "redis.call('ZREM', lanes_key(ARGV[1]), ARGV[2]) return 1"

SETTLE = TRACE + """
-- settle(dest, tid, first, nb): the trace is written; it leaves the outbox, its latency goes into the histogram
-- (bounds in ARGV[first .. first + nb - 1]) and its body is released once no destination owes it. 1 if it was owed.
local function settle(dest, tid, first, nb)
  if redis.call('ZREM', owed_key(dest), tid) ~= 1 then return 0 end
  redis.call('SREM', retrying_key(dest), tid)
  local tkey = body_key(tid)
  local seconds = (now - (trace_accepted(tkey) or now)) / 1000
  local bucket = '+Inf'
  for b = first, first + nb - 1 do
    if seconds <= tonumber(ARGV[b]) then bucket = ARGV[b]; break end
  end
  redis.call('HINCRBY', histogram_key(dest), bucket, 1)
  redis.call('HINCRBYFLOAT', histogram_key(dest), 'sum', seconds)
  trace_released(tkey)
  return 1
end
"""
"""Lua shared by every script that settles written traces (per-trace delivery and batch files)."""

_DELIVERED = ALLOW_OOM + SERVER_NOW + SETTLE + """
-- ARGV: destination, slow ('1'/'0'), bucket bounds (count), bounds..., trace ids...
local dest = ARGV[1]
local nb = tonumber(ARGV[3])
local done = 0
for i = 4 + nb, #ARGV do
  done = done + settle(dest, ARGV[i], 4, nb)
end
local stats = stats_key(dest)
redis.call('HINCRBY', stats, 'delivered', done)
redis.call('HSET', stats, 'last_success_at', now, 'failures', 0, 'state', 'healthy', 'slow', ARGV[2])
redis.call('HDEL', stats, 'last_error', 'hold_until')
return done
"""

_RETRY = ALLOW_OOM + SERVER_NOW + """
-- ARGV: destination, delay ms, error json, trace ids...: the traces wait, and so does the whole destination
local dest = ARGV[1]
local due = now + tonumber(ARGV[2])
local n = 0
for i = 4, #ARGV do
  if redis.call('ZSCORE', owed_key(dest), ARGV[i]) then
    redis.call('ZADD', owed_key(dest), due, ARGV[i])
    redis.call('SADD', retrying_key(dest), ARGV[i])
    n = n + 1
  end
end
local stats = stats_key(dest)
redis.call('HINCRBY', stats, 'retried', n)
redis.call('HINCRBY', stats, 'failures', 1)
if tonumber(redis.call('HGET', stats, 'hold_until') or 0) < due then redis.call('HSET', stats, 'hold_until', due) end
redis.call('HSET', stats, 'state', 'failing', 'slow', '0', 'last_error', ARGV[3], 'last_error_at', now)
return n
"""

_PARK = ALLOW_OOM + SERVER_NOW + """
-- ARGV: destination, error json, probe delay ms, trace ids (released, due again)...
local dest = ARGV[1]
local stats = stats_key(dest)
for i = 4, #ARGV do
  if redis.call('ZSCORE', owed_key(dest), ARGV[i]) then
    redis.call('ZADD', owed_key(dest), now, ARGV[i])
    redis.call('SADD', retrying_key(dest), ARGV[i])
  end
end
redis.call('HINCRBY', stats, 'failed', #ARGV - 3)
redis.call('HSET', stats, 'state', 'failing', 'parked', '1', 'slow', '0', 'last_error', ARGV[2],
           'last_error_at', now, 'next_probe_at', now + tonumber(ARGV[3]))
return 1
"""

_UNPARK = ALLOW_OOM + SERVER_NOW + """
local stats = stats_key(ARGV[1])
redis.call('HDEL', stats, 'parked', 'next_probe_at', 'probe_delay', 'hold_until')
redis.call('HSET', stats, 'failures', 0)
local owed = owed_key(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', owed, '(' .. now, '+inf')
for _, tid in ipairs(ids) do redis.call('ZADD', owed, 'XX', now, tid) end
return #ids
"""

_PROBE_FAILED = ALLOW_OOM + SERVER_NOW + """
-- ARGV: destination, error json, probe delay ms
redis.call('HSET', stats_key(ARGV[1]), 'last_error', ARGV[2], 'last_error_at', now,
           'next_probe_at', now + tonumber(ARGV[3]))
return 1
"""

_DEAD = ALLOW_OOM + SERVER_NOW + """
-- ARGV: destination, reason json, trace ids...
local dest = ARGV[1]
local n = 0
for i = 3, #ARGV do
  if redis.call('ZREM', owed_key(dest), ARGV[i]) == 1 then
    redis.call('SREM', retrying_key(dest), ARGV[i])
    redis.call('ZADD', dead_letters_key(dest), now, ARGV[i])
    redis.call('HSET', dead_reasons_key(dest), ARGV[i], ARGV[2])
    n = n + 1
  end
end
redis.call('HINCRBY', stats_key(dest), 'dead_lettered', n)
return n
"""

_REPLAY = ALLOW_OOM + SERVER_NOW + """
local dest = ARGV[1]
local ids = redis.call('ZRANGE', dead_letters_key(dest), 0, -1)
for _, tid in ipairs(ids) do redis.call('ZADD', owed_key(dest), now, tid) end
redis.call('DEL', dead_letters_key(dest), dead_reasons_key(dest))
return #ids
"""

_FORGET = ALLOW_OOM + keys.LUA + TRACE + """
-- a deleted destination: release what it was owed and its dead letters
local dest = ARGV[1]
for _, key in ipairs({owed_key(dest), dead_letters_key(dest)}) do
  for _, tid in ipairs(redis.call('ZRANGE', key, 0, -1)) do trace_released(body_key(tid)) end
end
redis.call('DEL', owed_key(dest), dead_letters_key(dest), dead_reasons_key(dest), stats_key(dest),
           histogram_key(dest), retrying_key(dest), lanes_key(dest))
return 1
"""

_STALE = ALLOW_OOM + SERVER_NOW + """
-- ARGV: grace ms, destination ids...: which are owed something due for over grace, which need a probe.
-- A destination waiting out a transient failure's backoff is neither.
local stale, probe = {}, {}
for i = 2, #ARGV do
  local dest = ARGV[i]
  local s = redis.call('HMGET', stats_key(dest), 'parked', 'next_probe_at', 'hold_until')
  if s[1] == '1' then
    if tonumber(s[2] or 0) <= now then probe[#probe + 1] = dest end
  elseif tonumber(s[3] or 0) <= now and
      #redis.call('ZRANGEBYSCORE', owed_key(dest), '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, 1) > 0 then
    stale[#stale + 1] = dest
  end
end
return {stale, probe}
"""

_STATUS = SERVER_NOW + TRACE + """
-- ARGV: sample size, then destination ids...: per destination {stats (flat), backlog, oldest accepted ms, dead
-- letters, retrying, lanes, histogram, backlog bytes}, then now. Backlog bytes: the stored bodies of the owed
-- traces, summed over the first (sample size) of them and scaled to the whole backlog beyond that.
local out = {}
local sample = tonumber(ARGV[1])
for i = 2, #ARGV do
  local dest = ARGV[i]
  local owed = owed_key(dest)
  local oldest = false
  local size = redis.call('ZCARD', owed)
  local ids = redis.call('ZRANGE', owed, 0, sample - 1)
  if #ids > 0 then oldest = trace_accepted(body_key(ids[1])) or false end
  local bytes = 0
  for _, tid in ipairs(ids) do bytes = bytes + trace_bytes(body_key(tid)) end
  if #ids > 0 and size > #ids then bytes = math.floor(bytes * size / #ids) end
  out[#out + 1] = {redis.call('HGETALL', stats_key(dest)), size, oldest,
                   redis.call('ZCARD', dead_letters_key(dest)), redis.call('SCARD', retrying_key(dest)),
                   redis.call('ZCOUNT', lanes_key(dest), '(' .. now, '+inf'),
                   redis.call('HGETALL', histogram_key(dest)), bytes}
end
out[#out + 1] = now
return out
"""

BODIES = ALLOW_OOM + keys.LUA + TRACE + """
-- ARGV: trace ids: the stored body of each, or false once its record is released
local out = {}
for i = 1, #ARGV do out[i] = trace_body(body_key(ARGV[i])) end
return out
"""
"""Read by Python in one round trip, whichever layout each record has."""

BYTES_SAMPLE = 200
"""A status sums the stored size of at most this many owed traces' bodies (and scales the sum to the backlog)."""


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
    """One destination's counters, state and backlog, read at one instant (``now_ms``, Redis clock)."""

    stats: dict[str, str]
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
        return int(self.stats.get(name, 0))


REPLICA_WAIT_MS = 1000
"""How long ingest waits for replicas to acknowledge new traces when ``TRACEDROP_REDIS_MIN_REPLICAS`` is set."""


class NotReplicated(Exception):
    """Fewer replicas than required acknowledged new traces in time; they are stored on the master and owed."""

    def __init__(self, trace_ids: list[int], acknowledged: int, required: int) -> None:
        super().__init__(f"{acknowledged} of {required} replicas acknowledged within {REPLICA_WAIT_MS} ms")
        self.trace_ids, self.acknowledged, self.required = trace_ids, acknowledged, required


class Outbox:
    """What each destination is owed, and every change to it."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.codec = Bodies(redis)
        self._accept = redis.register_script(_ACCEPT)
        self._claim = redis.register_script(_CLAIM)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._delivered = redis.register_script(_DELIVERED)
        self._retry = redis.register_script(_RETRY)
        self._park = redis.register_script(_PARK)
        self._unpark = redis.register_script(_UNPARK)
        self._probe_failed = redis.register_script(_PROBE_FAILED)
        self._dead = redis.register_script(_DEAD)
        self._replay = redis.register_script(_REPLAY)
        self._forget = redis.register_script(_FORGET)
        self._stale = redis.register_script(_STALE)
        self._status = redis.register_script(_STATUS)
        self._bodies = redis.register_script(BODIES)

    def accept(self, owed: list[tuple[bytes, list[str]]], *, workspace: str = "", replicas: int = 0) -> list[int]:
        """Store traces with the destinations each is owed to, and count them, atomically; return their ids.

        Refused as a whole (a RedisError) when Redis is unreachable or full. With ``replicas``, Redis ``WAIT``s on
        the same connection until that many replicas hold the traces, for at most REPLICA_WAIT_MS; when fewer did,
        NotReplicated says so (the traces are stored on the master all the same, and owed).
        """
        args: list[Any] = [workspace, len(owed)]
        for body, destinations in owed:
            args += [self.codec.pack(body), len(destinations), *destinations]
        if not replicas:
            first = int(self._accept(args=args))
        else:
            with self.redis.pipeline(transaction=False) as pipe:
                self._accept(args=args, client=pipe)
                pipe.execute_command("WAIT", replicas, REPLICA_WAIT_MS)
                first, acknowledged = pipe.execute()
        self.codec.sample([body for body, destinations in owed if destinations])
        trace_ids = [int(first) + i for i in range(len(owed))]
        if replicas and int(acknowledged) < replicas:
            raise NotReplicated(trace_ids, int(acknowledged), replicas)
        return trace_ids

    def claim(self, destination_id: str, lane: str, *, wanted: list[int], limit: int, lease_ms: int,
              lanes: int, trial: int) -> Claim:
        """Lease up to ``limit`` due traces (``wanted`` first) to ``lane``, if the destination takes one more lane
        (at most ``lanes``; one, and at most ``trial`` traces, while it is failing or was never written to)."""
        flat = self._claim(args=[destination_id, lane, limit, lease_ms, lanes, trial, *wanted])
        outcome = flat[0].decode()
        if outcome != "ok":
            return Claim(outcome)
        traces = [Claimed(int(flat[i]), self.codec.unpack(flat[i + 1])) for i in range(2, len(flat), 2)]
        return Claim(outcome, traces, limit=int(flat[1]))

    def renew(self, destination_id: str, lane: str, trace_ids: list[int], *, lease_ms: int, slow: bool) -> bool:
        """Extend a working lane's lease and its traces'; False if the lane had expired."""
        return bool(self._renew(args=[destination_id, lane, lease_ms, "1" if slow else "0", *trace_ids]))

    def release(self, destination_id: str, lane: str) -> None:
        self._release(args=[destination_id, lane])

    def delivered(self, destination_id: str, trace_ids: list[int], *, slow: bool = False) -> int:
        return int(self._delivered(args=[destination_id, "1" if slow else "0", len(LATENCY_BUCKETS),
                                         *LATENCY_BUCKETS, *trace_ids]))

    def retry(self, destination_id: str, trace_ids: list[int], *, delay_ms: int, error: dict[str, Any]) -> None:
        """The traces are due again after ``delay_ms``, and the destination takes no claim before then."""
        self._retry(args=[destination_id, delay_ms, orjson.dumps(error), *trace_ids])

    def park(self, destination_id: str, trace_ids: list[int], *, error: dict[str, Any], probe_ms: int) -> None:
        self._park(args=[destination_id, orjson.dumps(error), probe_ms, *trace_ids])

    def unpark(self, destination_id: str) -> int:
        return int(self._unpark(args=[destination_id]))

    def probe_failed(self, destination_id: str, *, error: dict[str, Any], delay_ms: int) -> None:
        self._probe_failed(args=[destination_id, orjson.dumps(error), delay_ms])

    def dead_letter(self, destination_id: str, trace_ids: list[int], *, reason: dict[str, Any]) -> None:
        self._dead(args=[destination_id, orjson.dumps(reason), *trace_ids])

    def replay(self, destination_id: str) -> int:
        return int(self._replay(args=[destination_id]))

    def forget(self, destination_id: str) -> None:
        self._forget(args=[destination_id])

    def stale(self, destination_ids: list[str], *, grace_ms: int) -> tuple[list[str], list[str]]:
        """Destinations owed something due for over ``grace_ms``, and parked ones due a probe."""
        stale, probe = self._stale(args=[grace_ms, *destination_ids])
        return [d.decode() for d in stale], [d.decode() for d in probe]

    def statuses(self, destination_ids: list[str]) -> dict[str, Status]:
        """Counters, state and backlog of each destination, in one round trip."""
        if not destination_ids:
            return {}
        *rows, now = self._status(args=[BYTES_SAMPLE, *destination_ids])
        found = {}
        for destination_id, (stats, backlog, oldest, dead, retrying, lanes, histogram, stored) in zip(
                destination_ids, rows, strict=True):
            found[destination_id] = Status(
                stats=_pairs(stats), backlog=int(backlog), oldest_accepted_ms=int(oldest) if oldest else None,
                dead_letters=int(dead), retrying=int(retrying), lanes=int(lanes),
                histogram={k: float(v) for k, v in _pairs(histogram).items()}, now_ms=int(now),
                backlog_bytes=int(stored))
        return found

    def status(self, destination_id: str) -> Status:
        return self.statuses([destination_id])[destination_id]

    def dead_letters(self, destination_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.redis.zrange(keys.dead_letters(destination_id), 0, limit - 1, withscores=True)
        reasons = self.redis.hmget(keys.dead_reasons(destination_id), [tid for tid, _ in rows]) if rows else []
        bodies = self._bodies(args=[tid for tid, _ in rows]) if rows else []
        letters = []
        for (tid, score), reason, body in zip(rows, reasons, bodies, strict=True):
            trace = orjson.loads(self.codec.unpack(body)) if body else {}
            letters.append({"trace_id": trace.get("id"), "seq": int(tid), "at_ms": int(score),
                            "reason": orjson.loads(reason) if reason else None})
        return letters


def _pairs(flat: list[bytes]) -> dict[str, str]:
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}
