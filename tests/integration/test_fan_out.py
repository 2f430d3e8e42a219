"""A backlog that waits for a destination (new, or resumed after an outage) is drained by every pool process at
once: the first task that writes a whole batch invites another process, instead of draining alone while the other
process finds the destination held to one lane (worker/runtime.py: INVITES); and that task drains on all its own
lanes from then on, not on its trial's lane alone."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from tests import stack
from tests.faults import Installation, all_keys, installation, keys_of, traces
from worker import keys
from worker.kinds.s3.writer import TRACES_PER_CLAIM
from worker.runtime import LANES_PER_TASK, TRIAL


def waiting_backlog(td: Installation, count: int) -> tuple[str, str]:
    """``count`` traces owed to a new destination (nothing written to it yet), every announcement sent, no worker
    running: its bucket and id."""
    bucket = td.bucket()
    destination = td.destination(bucket)
    for start in range(0, count, 100):
        assert td.post(traces(100, start=start)) == 202
    return bucket, destination


def delivered_when_lanes_exceed(td: Installation, destination: str, held: int) -> int | None:
    """How many traces were delivered when the destination first had more than ``held`` lanes (None: not within
    120 s)."""
    (lanes,) = keys.families(destination, ("lanes",))
    deadline = time.monotonic() + 120
    with redis.Redis.from_url(td.redis.url) as client:
        while time.monotonic() < deadline:
            now, delivered = client.pipeline().zcard(lanes).hget(keys.stats(destination), "delivered").execute()
            if now > held:
                return int(delivered or 0)
            time.sleep(0.005)
    return None


def test_a_waiting_backlog_is_drained_on_more_lanes_than_one_task_holds(tmp_path: Path, s3: stack.SeaweedFS) -> None:
    with installation(tmp_path, s3, beat=False) as td:
        # Given 6,000 traces waiting for a destination nothing has written to yet, every announcement sent
        bucket, destination = waiting_backlog(td, 6000)

        # When one worker with two pool processes starts on it
        td.worker(concurrency=2)
        # more lanes than one task holds: the second process is draining too
        joined_at = delivered_when_lanes_exceed(td, destination, LANES_PER_TASK)

        # Then the second process joined within the first fifth of the backlog, and every trace arrived
        print(f"\nsecond process joined with {joined_at} of 6,000 delivered")
        assert joined_at is not None and joined_at < 1200, f"joined at {joined_at} delivered"
        assert all_keys(s3, bucket, keys_of(range(6000)), timeout=60) == keys_of(range(6000))


def test_the_task_that_wrote_the_trial_drains_on_all_its_lanes(tmp_path: Path, s3: stack.SeaweedFS) -> None:
    with installation(tmp_path, s3, beat=False) as td:
        # Given 3,000 traces waiting for a destination nothing has written to yet (so its first claim is a trial)
        bucket, destination = waiting_backlog(td, 3000)

        # When a worker with one pool process starts on it (no other process to invite)
        td.worker(concurrency=1)
        joined_at = delivered_when_lanes_exceed(td, destination, 1)

        # Then its task took a second lane as soon as the trial was written, before a full claim was: the lane
        # that found the destination held to the trial's lane started again, rather than the task draining on one
        # lane until its budget ran out (then about 1,600 were delivered first). The bound leaves one more claim for a
        # poll delayed on a busy machine.
        print(f"\nsecond lane joined with {joined_at} of 3,000 delivered")
        assert joined_at is not None and TRIAL <= joined_at < TRIAL + 2 * TRACES_PER_CLAIM, f"joined at {joined_at}"
        assert all_keys(s3, bucket, keys_of(range(3000)), timeout=60) == keys_of(range(3000))
