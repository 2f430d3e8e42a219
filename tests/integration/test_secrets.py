"""Destination secrets: encrypted at rest, masked in every answer, never in a Celery message or a log."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import redis

from tests import stack
from tests.conftest import make_trace, wait_for_keys


def everything_in(server: stack.RedisServer) -> bytes:
    """Every key and value in the suite's Redis, as bytes."""
    client = redis.Redis(port=server.port)
    dump = bytearray()
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        dump += key
        if kind == b"string":
            dump += client.get(key) or b""
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                dump += field + value
        elif kind == b"list":
            dump += b"".join(client.lrange(key, 0, -1))
        elif kind == b"set":
            dump += b"".join(client.smembers(key))
        elif kind == b"zset":
            dump += b"".join(client.zrange(key, 0, -1))
    return bytes(dump)


def test_the_secret_never_appears_outside_the_encrypted_store(
    running: stack.Api, redis_server: stack.RedisServer, workdir: Path, admin: stack.Admin, workspace: str,
    ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str,
) -> None:
    secret = s3.secret()
    commands: list[bytes] = []
    monitor_client = redis.Redis(port=redis_server.port)
    stop = threading.Event()

    def watch() -> None:
        with monitor_client.monitor() as monitor:
            for command in monitor.listen():
                commands.append(str(command["command"]).encode())
                if stop.is_set():
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    created = admin.destination(workspace, stack.s3_body(s3, bucket))
    assert ingest.post("/v1/traces", json={"traces": [make_trace(i) for i in range(5)]}).status_code == 202
    wait_for_keys(s3, bucket, 5)
    stop.set()
    redis.Redis(port=redis_server.port).ping()
    watcher.join(timeout=10)

    assert created["access_secret"] == "********"
    listed = admin.http.get(f"/v1/workspaces/{workspace}/destinations").json()["destinations"]
    fetched = admin.http.get(f"/v1/workspaces/{workspace}/destinations/{created['id']}").json()
    audit = admin.http.get(f"/v1/workspaces/{workspace}/audit").text
    for text in (str(listed), str(fetched), audit):
        assert secret not in text
    assert any(b"td:dest:" in c for c in commands), "the monitor saw the destination being stored"
    assert any(b"tracedrop.deliver" in c for c in commands), "the monitor saw a Celery message"
    assert not [c for c in commands if secret.encode() in c]
    assert secret.encode() not in everything_in(redis_server)
    for log in workdir.glob("*.log"):
        if log.name.startswith(("api-", "worker-", "beat")):
            assert secret.encode() not in log.read_bytes(), log.name
