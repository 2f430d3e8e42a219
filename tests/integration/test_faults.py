"""Fault injection on processes each test starts itself: nothing accepted is lost, nothing is written twice.

Each test runs its own redis-server, api, beat and workers (and its own SeaweedFS where it stops the store),
kills what it means to kill, and checks the exact set of keys in the bucket. Recovery figures are printed (run
with -s to see them), never asserted.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from redis import Redis

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.faults import WORKSPACE, Clock, all_keys, installation, key_of, keys_of, stored, traces
from worker.outbox import Outbox

pytestmark = pytest.mark.faults


def test_a_worker_killed_mid_drain_loses_nothing_and_writes_nothing_twice(
    tmp_path: Path, s3: stack.SeaweedFS
) -> None:
    with installation(tmp_path, s3) as td:
        # Given 2,000 traces accepted while one worker drains them
        bucket = td.bucket()
        destination = td.destination(bucket)
        victim = td.worker()
        for start in range(0, 2000, 100):
            assert td.post(traces(100, start=start)) == 202

        # When that worker is SIGKILLed (with its pool children) while batches are in flight
        wait_for(lambda: td.status(destination)["delivered"] >= 200, what="a first part delivered")
        victim.kill()
        at_kill = td.status(destination)
        assert at_kill["delivered"] < 2000, "the kill came too late to test anything"
        clock = Clock()
        td.worker()

        # Then every trace arrives once a worker runs again, each exactly once, and no other object appears
        keys = all_keys(s3, bucket, keys_of(range(2000)), timeout=300)
        recovered = clock()
        assert keys == keys_of(range(2000))
        done = td.wait_status(destination, what="an empty backlog", delivered=2000)
        assert done["backlog"] == {"size": 0, "oldest_age_seconds": None, "bytes": 0}
        assert done["state"] == "healthy" and done["dead_lettered"] == 0
        print(f"\nworker SIGKILL: delivered {len(keys)}/2000 (at kill {at_kill['delivered']}, "
              f"{at_kill['in_flight_lanes']} lanes in flight), extra objects 0, all delivered {recovered}s after "
              "a worker ran again")


def test_an_s3_outage_is_visible_and_then_healed(tmp_path: Path) -> None:
    store = stack.seaweedfs(tmp_path / "store")
    try:
        with installation(tmp_path, store) as td:
            # Given a healthy destination and a worker
            bucket = td.bucket()
            destination = td.destination(bucket)
            td.worker()
            assert td.post(traces(50)) == 202
            all_keys(store, bucket, keys_of(range(50)), timeout=60)

            # When the S3 server stops in the middle of ingesting 300 more traces, for at least 20 s
            answers: list[int] = []

            def gateway() -> None:
                for start in range(50, 350, 10):
                    answers.append(td.post(traces(10, start=start)))
                    time.sleep(0.1)

            feeder = threading.Thread(target=gateway)
            feeder.start()
            wait_for(lambda: len(answers) >= 5, what="ingest under way")
            store.kill()
            outage = Clock()
            failing = td.wait_status(destination, what="failing during the outage", state="failing")
            feeder.join()
            time.sleep(max(0.0, 20 - outage()))
            during = td.status(destination)
            store.start()
            clock = Clock()

            # Then the outage showed as failing with a reason, retrying (not parked), and nothing was refused
            assert answers == [202] * 30
            assert failing["last_error"]["code"] in {"endpoint_unreachable", "timeout", "store_unavailable"}
            assert failing["last_error"]["message"] and failing["last_error"]["at"]
            assert failing["parked"] is False and failing["last_success_at"]
            assert during["state"] == "failing" and during["last_error"] and during["retrying"] > 0
            assert during["backlog"]["size"] == 350 - during["delivered"] >= 200
            assert during["backlog"]["oldest_age_seconds"] >= 15

            # And afterwards everything is there, once, and the status is healthy again
            keys = all_keys(store, bucket, keys_of(range(350)), timeout=180)
            recovered = clock()
            assert keys == keys_of(range(350))
            healed = td.wait_status(destination, what="healthy after the outage", state="healthy", delivered=350)
            assert healed["last_error"] is None and healed["retrying"] == 0
            assert healed["backlog"] == {"size": 0, "oldest_age_seconds": None, "bytes": 0}
            print(f"\nS3 outage: delivered {len(keys)}/350, extra objects 0, store down {outage():.1f}s, "
                  f"{during['retried']} traces retried during the outage ({during['retrying']} waiting), "
                  f"all delivered {recovered}s after the store restarted")
    finally:
        store.stop()


def test_a_redis_crash_loses_no_trace_answered_202(tmp_path: Path, s3: stack.SeaweedFS) -> None:
    with installation(tmp_path, s3, fsync="always") as td:
        # Given a destination, a worker, and a gateway posting traces one request at a time
        bucket = td.bucket()
        destination = td.destination(bucket)
        td.worker()
        answered: dict[int, int] = {}

        def post_one(index: int) -> None:
            answered[index] = td.post([make_trace(index)])

        for index in range(200):
            post_one(index)

        # When redis-server is SIGKILLed mid-stream (deliveries in flight) and restarted on its port and AOF
        td.redis.kill()
        for index in range(200, 230):
            post_one(index)
        td.redis.start()
        clock = Clock()
        for index in range(230, 400):
            post_one(index)

        # Then every trace answered 202 is delivered; the ones refused while Redis was down got 503
        accepted = {i for i, status in answered.items() if status == 202}
        refused = {i for i, status in answered.items() if status != 202}
        assert {answered[i] for i in range(200, 230)} == {503}
        assert accepted >= set(range(200)) | set(range(230, 400))
        keys = all_keys(s3, bucket, keys_of(accepted), timeout=240)
        recovered = clock()
        assert keys - keys_of(accepted) <= keys_of(refused)

        # And the worker and beat reconnected by themselves: an accepted trace nobody announced (as when an api
        # dies between storing and announcing) is found by beat's reconciler and delivered by the worker
        with Redis.from_url(td.redis.url) as client:
            Outbox(client).accept([(stored(make_trace(999)), [destination])], workspace=WORKSPACE)
        assert all_keys(s3, bucket, {key_of(999)}, timeout=60) >= {key_of(999)}
        done = td.wait_status(destination, what="an empty backlog",
                              backlog={"size": 0, "oldest_age_seconds": None, "bytes": 0})
        assert done["state"] == "healthy"
        print(f"\nredis SIGKILL (appendfsync always): delivered {len(keys_of(accepted) & keys)}/{len(accepted)} "
              f"answered 202, {len(refused)} answered 503 while down, extra objects "
              f"{len(keys - keys_of(accepted))}, all delivered {recovered}s after the restart")


def test_revoked_credentials_park_the_destination_until_a_patch_fixes_them(tmp_path: Path) -> None:
    old_secret, new_secret = uuid.uuid4().hex, uuid.uuid4().hex
    rights = ["Read", "Write", "List"]
    store = stack.seaweedfs(tmp_path / "store", identities={"rotating": (old_secret, rights)})
    try:
        with installation(tmp_path, store) as td:
            # Given a destination saved with a working, non-admin identity, and a worker
            bucket = td.bucket()
            body = {**stack.s3_body(store, bucket), "access_key_id": "rotating", "access_secret": old_secret}
            destination = td.admin.destination(WORKSPACE, body)["id"]
            td.worker()
            assert td.post(traces(10)) == 202
            all_keys(store, bucket, keys_of(range(10)), timeout=60)

            # When the secret is rotated on the server and traces keep coming
            admin = store.identities[stack.ADMIN_KEY]
            store.restart({stack.ADMIN_KEY: admin, "rotating": (new_secret, rights)})
            for start in range(10, 110, 20):
                assert td.post(traces(20, start=start)) == 202
            parked = td.wait_status(destination, what="parked", parked=True)

            # Then it is failing with the reason, keeps every trace, writes nothing, and is probed, not hammered
            assert parked["state"] == "failing"
            assert parked["last_error"]["code"] == "signature_mismatch" and parked["last_error"]["parked"] is True
            assert parked["next_probe_at"] and parked["retry_at"] is None
            time.sleep(8)
            held = td.status(destination)
            assert held["backlog"]["size"] == 100 and held["parked"] is True
            assert set(store.keys(bucket)) == keys_of(range(10))

            # When the operator PATCHes the new secret (the connection test passes), everything is delivered
            clock = Clock()
            response = td.admin.http.patch(f"/v1/workspaces/{WORKSPACE}/destinations/{destination}",
                                           json={"access_secret": new_secret})
            assert response.status_code == 200, response.text
            keys = all_keys(store, bucket, keys_of(range(110)), timeout=120)
            recovered = clock()
            assert keys == keys_of(range(110))
            healed = td.wait_status(destination, what="healthy", state="healthy", delivered=110)
            assert healed["parked"] is False and healed["backlog"]["size"] == 0 and healed["last_error"] is None
            assert new_secret.encode() not in td.logs() and old_secret.encode() not in td.logs()
            print(f"\nrevoked credentials: delivered {len(keys) - 10}/100 after the PATCH (0 while parked; "
                  f"{held['failed']} traces in refused attempts), extra objects 0, all delivered {recovered}s "
                  "after the PATCH")
    finally:
        store.stop()

