"""Fault injection on processes these tests start themselves: nothing accepted is lost, nothing written twice.

Each test runs its own redis-server, SeaweedFS, api, worker(s) and beat, kills what it means to kill, and checks
the exact set of keys in the bucket. Recovery figures are printed (run with -s to see them), never asserted.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.refusing_proxy import RefusingProxy

WORKSPACE = "faults"


@dataclass
class Stack:
    """One private tracedrop installation."""

    workdir: Path
    redis: stack.RedisServer
    store: stack.SeaweedFS
    env: dict[str, str]
    api: stack.Api
    beat: stack.Service
    workers: list[stack.Service] = field(default_factory=list)
    admin: stack.Admin = field(init=False)
    ingest: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.admin = stack.Admin(self.api.url)
        self.admin.workspace(WORKSPACE)
        key = self.admin.ingest_key(WORKSPACE)
        self.ingest = httpx.Client(base_url=self.api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def worker(self) -> stack.Service:
        service = stack.worker(self.workdir, self.env, name=f"w{len(self.workers)}-{uuid.uuid4().hex[:4]}")
        self.workers.append(service)
        return service

    def destination(self, bucket: str, store: stack.SeaweedFS | None = None, **fields: Any) -> str:
        store = store or self.store
        store.client().create_bucket(Bucket=bucket)
        return str(self.admin.destination(WORKSPACE, stack.s3_body(store, bucket, **fields))["id"])

    def post(self, traces: list[dict[str, Any]]) -> int:
        return self.ingest.post("/v1/traces", json={"traces": traces}).status_code

    def status(self, destination_id: str) -> dict[str, Any]:
        return self.admin.status(WORKSPACE, destination_id)


@pytest.fixture()
def fault_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    fsync = getattr(request, "param", "everysec")
    with ExitStack() as cleanup:
        redis = stack.redis_server(tmp_path, fsync=fsync)
        cleanup.callback(redis.stop)
        store = stack.seaweedfs(tmp_path)
        cleanup.callback(store.stop)
        env = stack.tracedrop_env(redis.url)
        api = stack.api(tmp_path, env)
        cleanup.callback(api.stop)
        beat = stack.beat(tmp_path, env)
        cleanup.callback(beat.stop)
        built = Stack(tmp_path, redis, store, env, api, beat)
        cleanup.callback(lambda: [w.stop() for w in built.workers])
        cleanup.callback(built.admin.http.close)
        cleanup.callback(built.ingest.close)
        yield built


def traces(count: int, *, start: int = 0, **fields: Any) -> list[dict[str, Any]]:
    return [make_trace(i, **fields) for i in range(start, start + count)]


def expected_keys(count: int, *, start: int = 0) -> set[str]:
    return {f"2024-01-15/gen-{i}-1705312800.json" for i in range(start, start + count)}


def all_keys(store: stack.SeaweedFS, bucket: str, expected: set[str], *, timeout: float) -> set[str]:
    """The bucket's keys once every expected key is there (or fail after ``timeout``)."""
    return set(wait_for(lambda: (k if expected <= (k := set(store.keys(bucket))) else None),
                        timeout=timeout, what=f"{len(expected)} objects in {bucket}"))


def test_a_worker_killed_mid_drain_loses_nothing_and_writes_nothing_twice(fault_stack: Stack) -> None:
    # Given 2,000 traces accepted while one worker drains them
    destination = fault_stack.destination("killed")
    victim = fault_stack.worker()
    for start in range(0, 2000, 100):
        assert fault_stack.post(traces(100, start=start)) == 202

    # When that worker is SIGKILLed in the middle (with its pool children)
    wait_for(lambda: fault_stack.status(destination)["delivered"] >= 100, what="a first part delivered")
    victim.kill()
    delivered_at_kill = fault_stack.status(destination)["delivered"]
    assert delivered_at_kill < 2000, "the kill came too late to test anything"
    started = time.monotonic()
    fault_stack.worker()

    # Then every trace arrives once a worker runs again, and no other object appears
    keys = all_keys(fault_stack.store, "killed", expected_keys(2000), timeout=300)
    assert keys == expected_keys(2000)
    wait_for(lambda: fault_stack.status(destination)["backlog"]["size"] == 0, what="an empty backlog")
    print(f"\nworker SIGKILL: delivered {len(keys)}/2000 (at kill {delivered_at_kill}), extra objects 0, "
          f"recovered in {time.monotonic() - started:.1f}s")


def test_an_s3_outage_is_visible_and_then_healed(fault_stack: Stack) -> None:
    # Given a healthy destination and a worker
    destination = fault_stack.destination("outage")
    fault_stack.worker()
    assert fault_stack.post(traces(50)) == 202
    all_keys(fault_stack.store, "outage", expected_keys(50), timeout=60)

    # When the S3 server stops in the middle of ingesting 300 more traces, for at least 20 s
    answers: list[int] = []

    def gateway() -> None:
        for start in range(50, 350, 10):
            answers.append(fault_stack.post(traces(10, start=start)))
            time.sleep(0.1)

    feeder = threading.Thread(target=gateway)
    feeder.start()
    wait_for(lambda: len(answers) >= 5, what="ingest under way")
    fault_stack.store.kill()
    stopped = time.monotonic()
    failing = wait_for(lambda: (s if (s := fault_stack.status(destination))["state"] == "failing" else None),
                       timeout=60, what="status failing")
    feeder.join()
    time.sleep(max(0.0, 20 - (time.monotonic() - stopped)))
    fault_stack.store.start()
    restarted = time.monotonic()

    # Then the outage showed as failing with a reason, and afterwards everything is there, once
    assert answers == [202] * 30
    assert failing["last_error"]["code"] in {"endpoint_unreachable", "timeout", "store_unavailable"}
    assert failing["last_error"]["message"] and failing["last_error"]["at"]
    assert failing["parked"] is False
    keys = all_keys(fault_stack.store, "outage", expected_keys(350), timeout=180)
    assert keys == expected_keys(350)
    healed = wait_for(lambda: (s if (s := fault_stack.status(destination))["state"] == "healthy" else None),
                      what="status healthy")
    assert healed["last_error"] is None and healed["backlog"]["size"] == 0
    print(f"\nS3 outage: delivered {len(keys)}/350, extra objects 0, outage {restarted - stopped:.1f}s, "
          f"recovered {time.monotonic() - restarted:.1f}s after restart")


@pytest.mark.parametrize("fault_stack", ["always"], indirect=True)
def test_a_redis_crash_loses_no_trace_answered_202(fault_stack: Stack) -> None:
    # Given a destination, a worker, and a gateway posting traces one request at a time
    destination = fault_stack.destination("crash")
    fault_stack.worker()
    answered: dict[int, int] = {}

    def post_one(index: int) -> None:
        try:
            answered[index] = fault_stack.ingest.post("/v1/traces", json=make_trace(index)).status_code
        except httpx.HTTPError:
            answered[index] = 0

    for index in range(200):
        post_one(index)

    # When redis-server is SIGKILLed mid-stream and restarted from its AOF
    fault_stack.redis.kill()
    for index in range(200, 230):
        post_one(index)
    fault_stack.redis.start()
    restarted = time.monotonic()
    for index in range(230, 400):
        post_one(index)

    # Then every trace answered 202 is delivered; the ones refused during the crash were refused, not half-stored
    accepted = {i for i, status in answered.items() if status == 202}
    refused = {i for i, status in answered.items() if status != 202}
    assert {answered[i] for i in refused} <= {503, 0}
    assert len(accepted) >= 370
    expected = {f"2024-01-15/gen-{i}-1705312800.json" for i in accepted}
    keys = all_keys(fault_stack.store, "crash", expected, timeout=240)
    extra = keys - expected
    assert extra <= {f"2024-01-15/gen-{i}-1705312800.json" for i in refused}
    wait_for(lambda: fault_stack.status(destination)["backlog"]["size"] == 0, timeout=120, what="an empty backlog")
    print(f"\nredis SIGKILL: delivered {len(expected & keys)}/{len(accepted)} answered 202, {len(refused)} refused "
          f"while down, recovered {time.monotonic() - restarted:.1f}s after restart")


def test_revoked_credentials_park_the_destination_until_a_patch_fixes_them(fault_stack: Stack) -> None:
    # Given a destination saved with a working non-admin identity
    store = fault_stack.store
    old_secret, new_secret = uuid.uuid4().hex, uuid.uuid4().hex
    admin_identity = store.identities[stack.ADMIN_KEY]
    store.restart({stack.ADMIN_KEY: admin_identity, "rotating": (old_secret, ["Read", "Write", "List"])})
    store.client().create_bucket(Bucket="rotated")
    body = {**stack.s3_body(store, "rotated"), "access_key_id": "rotating", "access_secret": old_secret}
    destination = fault_stack.admin.destination(WORKSPACE, body)["id"]
    fault_stack.worker()

    # When the secret is rotated on the server and traces keep coming
    store.restart({stack.ADMIN_KEY: admin_identity, "rotating": (new_secret, ["Read", "Write", "List"])})
    assert fault_stack.post(traces(100)) == 202
    parked = wait_for(lambda: (s if (s := fault_stack.status(destination))["parked"] else None),
                      timeout=60, what="the destination parked")

    # Then it is failing with the reason, keeps every trace, and writes nothing
    assert parked["state"] == "failing"
    assert parked["last_error"]["code"] == "signature_mismatch"
    time.sleep(3)
    assert fault_stack.status(destination)["backlog"]["size"] == 100
    assert store.keys("rotated") == []

    # When the operator PATCHes the new secret (the connection test passes), everything is delivered
    response = fault_stack.admin.http.patch(f"/v1/workspaces/{WORKSPACE}/destinations/{destination}",
                                            json={"access_secret": new_secret})
    assert response.status_code == 200, response.text
    assert all_keys(store, "rotated", expected_keys(100), timeout=120) == expected_keys(100)
    healed = wait_for(lambda: (s if (s := fault_stack.status(destination))["state"] == "healthy" else None),
                      what="status healthy")
    assert healed["parked"] is False and healed["backlog"]["size"] == 0


def test_one_destination_down_does_not_hold_back_another(fault_stack: Stack, tmp_path: Path) -> None:
    # Given two destinations on two stores, both healthy
    other_store = stack.seaweedfs(tmp_path / "other")
    try:
        healthy = fault_stack.destination("healthy")
        down = fault_stack.destination("down", store=other_store)
        fault_stack.worker()

        def timed_batch(start: int) -> float:
            began = time.monotonic()
            for offset in range(0, 300, 30):
                assert fault_stack.post(traces(30, start=start + offset)) == 202
            all_keys(fault_stack.store, "healthy", expected_keys(start + 300), timeout=120)
            return time.monotonic() - began

        normal = timed_batch(0)
        wait_for(lambda: fault_stack.status(down)["backlog"]["size"] == 0, what="the other destination caught up")

        # When the other destination's store goes down
        other_store.kill()
        degraded = timed_batch(300)

        # Then the healthy one still gets everything, once, and the other keeps what it owes
        assert set(fault_stack.store.keys("healthy")) == expected_keys(600)
        assert fault_stack.status(healthy)["backlog"]["size"] == 0
        owed = fault_stack.status(down)
        assert owed["state"] == "failing" and owed["backlog"]["size"] == 300
        print(f"\nisolation: 300 traces to the healthy destination took {normal:.2f}s with both up and "
              f"{degraded:.2f}s with the other down (ratio {degraded / normal:.2f})")
    finally:
        other_store.stop()


def test_a_trace_refused_for_good_goes_to_dead_letters_and_can_be_replayed(fault_stack: Stack) -> None:
    # Given a store that refuses one object for good (a refusing proxy in front of the real SeaweedFS)
    with RefusingProxy(fault_stack.store.endpoint, marker="poison") as proxy:
        fault_stack.store.client().create_bucket(Bucket="refusing")
        body = {**stack.s3_body(fault_stack.store, "refusing"), "endpoint": proxy.endpoint,
                "path_template": "{prefix}/{apiKeyName}"}
        destination = fault_stack.admin.destination(WORKSPACE, body)["id"]
        fault_stack.worker()

        # When one trace of eleven is the one the store refuses
        batch = [*traces(10, api_key_name="ok"), make_trace(10, api_key_name="poison")]
        assert fault_stack.post(batch) == 202

        # Then the ten are written and the eleventh is a dead letter with the store's reason
        expected = {f"ok/gen-{i}-1705312800.json" for i in range(10)}
        assert all_keys(fault_stack.store, "refusing", expected, timeout=60) == expected
        wait_for(lambda: fault_stack.status(destination)["dead_lettered"] == 1, what="one dead letter")
        letters = fault_stack.admin.http.get(f"/v1/workspaces/{WORKSPACE}/destinations/{destination}/dead-letters")
        [letter] = letters.json()["dead_letters"]
        assert letter["trace_id"] == "gen-10"
        assert letter["reason"]["code"] == "trace_rejected" and "EntityTooLarge" in letter["reason"]["message"]
        assert letter["at"]
        status = fault_stack.status(destination)
        assert status["state"] == "healthy" and status["backlog"]["size"] == 0
        assert set(fault_stack.store.keys("refusing")) == expected

        # When the store is fixed (the destination now writes straight to it) and the dead letters replayed
        fixed = fault_stack.admin.http.patch(f"/v1/workspaces/{WORKSPACE}/destinations/{destination}",
                                             json={"endpoint": fault_stack.store.endpoint})
        assert fixed.status_code == 200, fixed.text
        replay = fault_stack.admin.http.post(
            f"/v1/workspaces/{WORKSPACE}/destinations/{destination}/dead-letters/replay")
        assert replay.status_code == 202 and replay.json() == {"replayed": 1}

        # Then the trace arrives and the dead letters are empty
        everything = expected | {"poison/gen-10-1705312800.json"}
        assert all_keys(fault_stack.store, "refusing", everything, timeout=60) == everything
        letters = fault_stack.admin.http.get(f"/v1/workspaces/{WORKSPACE}/destinations/{destination}/dead-letters")
        assert letters.json()["dead_letters"] == []
        assert proxy.refused == 1
