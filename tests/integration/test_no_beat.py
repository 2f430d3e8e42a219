"""No `tracedrop beat` at all: the workers' own heartbeat (one at a time, through a lease in Redis) re-announces
lost work, probes parked destinations and starts batch cycles. Each test runs its own redis-server and api, and
never starts beat."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests import stack
from tests.batchfiles import records_by_file
from tests.conftest import wait_for
from tests.faults import WORKSPACE, Clock, all_keys, installation, keys_of, traces

pytestmark = pytest.mark.faults


def test_without_beat_a_worker_killed_mid_drain_is_recovered_by_the_next_worker(
    tmp_path: Path, s3: stack.SeaweedFS
) -> None:
    with installation(tmp_path, s3, beat=False) as td:
        # Given 1,500 traces accepted while one worker drains them, and no beat
        bucket = td.bucket()
        destination = td.destination(bucket)
        victim = td.worker()
        for start in range(0, 1500, 100):
            assert td.post(traces(100, start=start)) == 202

        # When the worker is SIGKILLed mid-drain (its lost messages are nobody's now) and one is started again
        wait_for(lambda: td.status(destination)["delivered"] >= 150, what="a first part delivered")
        victim.kill()
        at_kill = td.status(destination)["delivered"]
        assert at_kill < 1500, "the kill came too late to test anything"
        td.worker()
        clock = Clock()

        # Then every trace arrives, once, within a minute of the restart
        assert all_keys(s3, bucket, keys_of(range(1500)), timeout=60) == keys_of(range(1500))
        done = td.wait_status(destination, what="an empty backlog", delivered=1500)
        assert done["backlog"]["size"] == 0 and td.beat is None
        print(f"\nno beat, worker SIGKILL: 1500/1500 delivered (at kill {at_kill}), {clock()}s after the restart")


def test_without_beat_a_batch_destination_exports_on_its_schedule(tmp_path: Path, s3: stack.SeaweedFS) -> None:
    with installation(tmp_path, s3, beat=False) as td:
        bucket = td.bucket()
        td.destination(bucket, mode="batch", every=2, limit=50, format="jsonl.gz")
        td.worker()
        assert td.post(traces(120)) == 202

        # Every record is exported, once, in files of at most 50, within 30 s
        def exported() -> dict[str, list[dict[str, object]]] | None:
            files = records_by_file(s3.objects(bucket))
            return files if sum(len(records) for records in files.values()) >= 120 else None

        files = wait_for(exported, timeout=30, what="120 records exported")
        assert all(1 <= len(records) <= 50 for records in files.values())
        everything = [record for records in files.values() for record in records]
        assert sorted(str(r["capture_id"]) for r in everything) == sorted(f"gen-{i}" for i in range(120))


def test_without_beat_a_parked_destination_resumes_when_the_store_takes_its_credentials_again(
    tmp_path: Path
) -> None:
    secret = uuid.uuid4().hex
    rights = ["Read", "Write", "List"]
    store = stack.seaweedfs(tmp_path / "store", identities={"rotating": (secret, rights)})
    try:
        with installation(tmp_path, store, beat=False) as td:
            bucket = td.bucket()
            body = {**stack.s3_body(store, bucket), "access_key_id": "rotating", "access_secret": secret}
            destination = td.admin.destination(WORKSPACE, body)["id"]
            td.worker()
            assert td.post(traces(10)) == 202
            all_keys(store, bucket, keys_of(range(10)), timeout=60)

            # When the store stops taking the credentials, the destination parks with the traces kept
            admin = store.identities[stack.ADMIN_KEY]
            store.restart({stack.ADMIN_KEY: admin, "rotating": (uuid.uuid4().hex, rights)})
            assert td.post(traces(20, start=10)) == 202
            td.wait_status(destination, what="parked", parked=True)

            # When the store takes them again, the probes (run by the workers' heartbeat) resume it within 2 min
            store.restart({stack.ADMIN_KEY: admin, "rotating": (secret, rights)})
            clock = Clock()
            assert all_keys(store, bucket, keys_of(range(30)), timeout=120) == keys_of(range(30))
            healed = td.wait_status(destination, what="healthy", state="healthy", delivered=30)
            assert healed["parked"] is False
            print(f"\nno beat, parked destination resumed by a probe {clock()}s after the store took it back")
    finally:
        store.stop()


def test_one_worker_at_a_time_holds_the_heartbeat(redis_server: stack.RedisServer) -> None:
    from redis import Redis

    from worker.maintenance import Heartbeat

    # A database of its own: the suite's workers hold the heartbeat of the suite's database
    client = Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/9")
    first, second = Heartbeat(client), Heartbeat(client)
    assert first.holds() and first.holds(), "the holder renews its lease"
    assert not second.holds()
    first.stop()  # a worker shutting down hands the heartbeat over at once
    assert second.holds() and not first.holds()
    second.stop()
