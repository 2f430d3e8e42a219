"""Destination secrets (S3 credentials, webhook headers and signing secrets): encrypted at rest, masked in every
answer, never in a Celery message or a log."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import redis

from tests import stack
from tests.conftest import make_trace, wait_for, wait_for_keys
from tests.receiver import delivered_ids, new_secret, start_receiver, verified, webhook


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
    receiver = start_receiver()
    signing_secret, header = new_secret(), "Bearer hook-credential-7d1f"
    secrets = [s3.secret(), signing_secret, header]
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
    hook = admin.destination(workspace, webhook(receiver, signing_secret=signing_secret,
                                                headers={"Authorization": header}))
    assert ingest.post("/v1/traces", json={"traces": [make_trace(i) for i in range(5)]}).status_code == 202
    wait_for_keys(s3, bucket, 5)
    wait_for(lambda: len(delivered_ids(receiver, signing_secret)) == 5, what="5 webhook deliveries")
    receiver.stop()
    assert all(r.headers["authorization"] == header for r in receiver.requests)
    stop.set()
    redis.Redis(port=redis_server.port).ping()
    watcher.join(timeout=10)

    assert created["access_secret"] == "********"
    assert hook["signing_secret"] == "********" and hook["headers"] == {"Authorization": "********"}
    listed = admin.http.get(f"/v1/workspaces/{workspace}/destinations").json()["destinations"]
    fetched = [admin.http.get(f"/v1/workspaces/{workspace}/destinations/{d['id']}").json() for d in (created, hook)]
    audit = admin.http.get(f"/v1/workspaces/{workspace}/audit").text
    dump = everything_in(redis_server)
    for secret in secrets:
        for text in (str(listed), str(fetched), audit):
            assert secret not in text
    assert any(b"td:dest:" in c for c in commands), "the monitor saw the destination being stored"
    assert any(b"tracedrop.deliver" in c for c in commands), "the monitor saw a Celery message"
    for secret in secrets:
        assert not [c for c in commands if secret.encode() in c]
        assert secret.encode() not in dump
        for log in workdir.glob("*.log"):
            if log.name.startswith(("api-", "worker-", "beat")):
                assert secret.encode() not in log.read_bytes(), log.name


TRACEDROP = str(Path(sys.executable).parent / "tracedrop")
NEW_KEY = "rotated-" + "k3y-of-the-next-year-0123456789abcdef"


def rotate(api: stack.Api, **keys: str) -> subprocess.CompletedProcess[str]:
    """``tracedrop rotate-secret-key`` against the api's Redis, with the keys given as the environment gives them."""
    env = {**(api.env or {}), **keys}
    return subprocess.run([TRACEDROP, "rotate-secret-key"], capture_output=True, text=True, env=env, timeout=60,
                          check=False)


def test_a_rotated_secret_key_reads_every_stored_secret_and_a_wrong_old_one_changes_nothing(
        own_api: Callable[..., stack.Api]) -> None:
    # Given a webhook saved with a header and a signing secret under today's key, and the api stopped
    receiver = start_receiver()
    api = own_api()
    old_key = (api.env or {})["TRACEDROP_SECRET_KEY"]
    admin = stack.Admin(api.url)
    admin.workspace("keys")
    signing_secret, header = new_secret(), "Bearer kept-through-rotation"
    hook = admin.destination("keys", webhook(receiver, signing_secret=signing_secret,
                                             headers={"Authorization": header}))
    admin.http.close()
    api.stop()

    # When the key is rotated (twice: the second run finds nothing left to do)
    first = rotate(api, TRACEDROP_OLD_SECRET_KEY=old_key, TRACEDROP_SECRET_KEY=NEW_KEY)
    assert first.returncode == 0, first.stderr
    assert "1 destinations now under the new key (0 already were)" in first.stdout
    again = rotate(api, TRACEDROP_OLD_SECRET_KEY=old_key, TRACEDROP_SECRET_KEY=NEW_KEY)
    assert "0 destinations now under the new key (1 already were)" in again.stdout

    # Then a wrong old key (against yet another new one) changes nothing and says so
    wrong = rotate(api, TRACEDROP_OLD_SECRET_KEY="not-the-key-" + "x" * 30,
                   TRACEDROP_SECRET_KEY="yet-another-" + "key-0123456789abcdefghij")
    assert wrong.returncode != 0 and "decrypt under neither key" in wrong.stderr

    # And an api with the new key sends the stored secrets: its connection test carries the header, signed
    rotated = own_api(TRACEDROP_SECRET_KEY=NEW_KEY)
    admin = stack.Admin(rotated.url)
    tested = admin.http.post(f"/v1/workspaces/keys/destinations/{hook['id']}/test", json={})
    admin.http.close()
    receiver.stop()
    assert tested.status_code == 200, tested.text
    [_, request] = [r for r in receiver.requests if r.testing]  # the test when it was saved, and this one
    assert request.headers["authorization"] == header
    assert verified(signing_secret, request) == request.body
