"""Configuration in Redis: workspaces, ingest keys, destinations, audit log. Keyword-only, no HTTP."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from redis import Redis

from worker import keys, kinds
from worker.crypto import SecretUnreadable
from worker.destination import Destination
from worker.routing import parsed as parsed_route

AUDIT_LENGTH = 1000


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _ws(workspace: str) -> str:
    return keys.workspace(workspace)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# -- workspaces ---------------------------------------------------------------------------------------------


def put_workspace(redis: Redis, *, workspace: str, broadcast_enabled: bool) -> tuple[dict[str, Any], bool]:
    created = bool(redis.hsetnx(_ws(workspace), "created_at", now_iso()))
    with redis.pipeline() as pipe:
        pipe.hset(_ws(workspace), "broadcast_enabled", "1" if broadcast_enabled else "0")
        pipe.incr(keys.routes_version(workspace))
        pipe.sadd(keys.WORKSPACES, workspace)
        pipe.execute()
    record_audit(redis, workspace=workspace, action="workspace.created" if created else "workspace.updated",
                 detail={"broadcast_enabled": broadcast_enabled})
    return get_workspace(redis, workspace=workspace) or {}, created


def get_workspace(redis: Redis, *, workspace: str) -> dict[str, Any] | None:
    raw = redis.hgetall(_ws(workspace))
    if not raw:
        return None
    return {
        "workspace": workspace,
        "broadcast_enabled": raw.get(b"broadcast_enabled") == b"1",
        "created_at": raw[b"created_at"].decode(),
    }


def list_workspaces(redis: Redis) -> list[dict[str, Any]]:
    names = sorted(name.decode() for name in redis.smembers(keys.WORKSPACES))
    found = (get_workspace(redis, workspace=name) for name in names)
    return [w for w in found if w is not None]


# -- ingest keys --------------------------------------------------------------------------------------------


def create_ingest_key(redis: Redis, *, workspace: str, name: str) -> tuple[dict[str, Any], str]:
    """A new key: returned once, stored only as its SHA-256."""
    key = "td_" + secrets.token_urlsafe(32)
    public = {"id": uuid.uuid4().hex[:16], "name": name, "created_at": now_iso()}
    digest = key_digest(key)
    with redis.pipeline() as pipe:
        pipe.set(keys.ingest_key(digest), orjson.dumps({"workspace": workspace, "id": public["id"]}))
        pipe.hset(f"{_ws(workspace)}:keys", public["id"], orjson.dumps({**public, "digest": digest}))
        pipe.execute()
    record_audit(redis, workspace=workspace, action="ingest_key.created", detail={"id": public["id"], "name": name})
    return public, key


def list_ingest_keys(redis: Redis, *, workspace: str) -> list[dict[str, Any]]:
    rows = [orjson.loads(raw) for raw in redis.hvals(f"{_ws(workspace)}:keys")]
    return sorted(({k: v for k, v in row.items() if k != "digest"} for row in rows), key=lambda r: r["created_at"])


def revoke_ingest_key(redis: Redis, *, workspace: str, key_id: str) -> bool:
    raw = redis.hget(f"{_ws(workspace)}:keys", key_id)
    if raw is None:
        return False
    with redis.pipeline() as pipe:
        pipe.delete(keys.ingest_key(orjson.loads(raw)['digest']))
        pipe.hdel(f"{_ws(workspace)}:keys", key_id)
        pipe.execute()
    record_audit(redis, workspace=workspace, action="ingest_key.revoked", detail={"id": key_id})
    return True


def resolve_key_digest(redis: Redis, digest: str) -> str | None:
    """The workspace of the ingest key with this digest, or None."""
    raw = redis.get(keys.ingest_key(digest))
    return orjson.loads(raw)["workspace"] if raw else None


# -- destinations -------------------------------------------------------------------------------------------


def new_destination_id() -> str:
    return "dst_" + uuid.uuid4().hex[:20]


def save_destination(redis: Redis, *, destination: Destination, secret_key: str, action: str,
                     changed: list[str] | None = None) -> None:
    with redis.pipeline() as pipe:
        pipe.set(keys.destination(destination.id), orjson.dumps(destination.stored(secret_key=secret_key)))
        pipe.hset(keys.routes(destination.workspace), destination.id, orjson.dumps(destination.route()))
        pipe.incr(keys.routes_version(destination.workspace))
        pipe.sadd(keys.DESTINATIONS, destination.id)
        pipe.execute()
    detail = destination.public() if changed is None else {**destination.public(), "changed": changed}
    record_audit(redis, workspace=destination.workspace, action=action, detail=detail)


def load_destination(redis: Redis, *, destination_id: str, secret_key: str) -> Destination | None:
    raw = redis.get(keys.destination(destination_id))
    return decode_destination(raw, secret_key=secret_key) if raw else None


@lru_cache(maxsize=1024)
def decode_destination(raw: bytes, *, secret_key: str) -> Destination:
    """A stored destination, decrypted and validated once per stored version (workers load one per task)."""
    return kinds.from_stored(orjson.loads(raw), secret_key=secret_key)


def reencrypt_destinations(redis: Redis, *, old_key: str, new_key: str) -> tuple[int, int]:
    """Every stored destination's secrets encrypted under ``new_key`` instead of ``old_key``; how many were, and how
    many already were (a run cut short is finished by running it again). SecretUnreadable when a destination's
    secrets decrypt under neither: nothing more is changed."""
    rotated = already = 0
    for destination_id in sorted(member.decode() for member in redis.smembers(keys.DESTINATIONS)):
        raw = redis.get(keys.destination(destination_id))
        if raw is None:
            continue
        data = orjson.loads(raw)
        try:
            destination = kinds.from_stored(data, secret_key=old_key)
        except SecretUnreadable:
            kinds.from_stored(data, secret_key=new_key)  # raises if neither key reads it
            already += 1
            continue
        redis.set(keys.destination(destination_id), orjson.dumps(destination.stored(secret_key=new_key)))
        rotated += 1
    return rotated, already


def list_destinations(redis: Redis, *, workspace: str, secret_key: str) -> list[Destination]:
    ids = sorted(i.decode() for i in redis.hkeys(keys.routes(workspace)))
    loaded = (load_destination(redis, destination_id=i, secret_key=secret_key) for i in ids)
    return sorted((d for d in loaded if d is not None), key=lambda d: d.created_at)


def delete_destination(redis: Redis, *, destination: Destination) -> None:
    with redis.pipeline() as pipe:
        pipe.delete(keys.destination(destination.id))
        pipe.hdel(keys.routes(destination.workspace), destination.id)
        pipe.incr(keys.routes_version(destination.workspace))
        pipe.srem(keys.DESTINATIONS, destination.id)
        pipe.execute()
    record_audit(redis, workspace=destination.workspace, action="destination.deleted",
                 detail={"id": destination.id, "name": destination.name})


@dataclass(frozen=True)
class Routing:
    """What ingest routes a workspace's traces by: whether broadcast is on, its destinations' routing rules, and
    the version of both (``keys.routes_version``, raised by every change of either)."""

    enabled: bool
    routes: list[dict[str, Any]]
    version: str


def routing(redis: Redis, *, workspace: str) -> Routing:
    """The workspace's routing as one snapshot (MULTI), in one round trip."""
    with redis.pipeline() as pipe:
        pipe.hget(_ws(workspace), "broadcast_enabled")
        pipe.hvals(keys.routes(workspace))
        pipe.get(keys.routes_version(workspace))
        enabled, raw_routes, version = pipe.execute()
    return Routing(enabled == b"1", [parsed_route(r) for r in raw_routes], (version or b"0").decode())


# -- audit --------------------------------------------------------------------------------------------------


def record_audit(redis: Redis, *, workspace: str, action: str, detail: dict[str, Any]) -> None:
    """Append a configuration change to the workspace's audit log. Callers pass public data only."""
    entry = orjson.dumps({"at": now_iso(), "action": action, "detail": detail, "ts": time.time()})
    with redis.pipeline() as pipe:
        pipe.lpush(f"{_ws(workspace)}:audit", entry)
        pipe.ltrim(f"{_ws(workspace)}:audit", 0, AUDIT_LENGTH - 1)
        pipe.execute()


def audit_log(redis: Redis, *, workspace: str) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in redis.lrange(f"{_ws(workspace)}:audit", 0, -1)]
