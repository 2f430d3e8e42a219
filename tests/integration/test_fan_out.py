"""A backlog that waits for a destination (new, or resumed after an outage) is drained by every pool process at
once: the first task that writes a whole batch invites another process, instead of draining alone while the other
process finds the destination held to one lane (worker/runtime.py: INVITES)."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from tests import stack
from tests.faults import all_keys, installation, keys_of, traces
from worker import keys
from worker.runtime import LANES_PER_TASK


def test_a_waiting_backlog_is_drained_on_more_lanes_than_one_task_holds(tmp_path: Path, s3: stack.SeaweedFS) -> None:
    with installation(tmp_path, s3, beat=False) as td:
        # Given 6,000 traces waiting for a destination nothing has written to yet, every announcement sent
        bucket = td.bucket()
        destination = td.destination(bucket)
        for start in range(0, 6000, 100):
            assert td.post(traces(100, start=start)) == 202
        client = redis.Redis.from_url(td.redis.url)
        (lanes,) = keys.families(destination, ("lanes",))

        # When one worker with two pool processes starts on it
        td.worker(concurrency=2)
        joined_at, deadline = None, time.monotonic() + 120
        while joined_at is None and time.monotonic() < deadline:
            held, delivered = client.pipeline().zcard(lanes).hget(keys.stats(destination), "delivered").execute()
            if held > LANES_PER_TASK:  # more lanes than one task holds: the second process is draining too
                joined_at = int(delivered or 0)
            time.sleep(0.005)

        # Then the second process joined within the first fifth of the backlog, and every trace arrived
        print(f"\nsecond process joined with {joined_at} of 6,000 delivered")
        assert joined_at is not None and joined_at < 1200, f"joined at {joined_at} delivered"
        assert all_keys(s3, bucket, keys_of(range(6000)), timeout=60) == keys_of(range(6000))
