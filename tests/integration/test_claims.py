"""How much a lane may claim, and how many lanes a destination gets, as its deliveries go (worker/outbox.py), on a
real Redis: a destination never written to, or failing, is tried with one lane and TRIAL traces; once a batch is
delivered it takes full claims on every lane."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import orjson
import pytest
import redis

from tests import stack
from worker import keys
from worker.outbox import Outbox
from worker.runtime import LANES, TRIAL

LIMIT = 256
LEASE_MS = 30_000


@pytest.fixture
def outbox(redis_server: stack.RedisServer) -> Iterator[tuple[Outbox, str]]:
    client = redis.Redis.from_url(redis_server.url)
    destination = f"claims-{uuid.uuid4().hex}"
    box = Outbox(client)
    client.sadd(keys.DESTINATIONS, destination)  # as saving a destination does
    box.accept([(orjson.dumps({"id": f"gen-{i}", "timestamp": 0, "model": "m"}), [destination])
                for i in range(1000)])
    yield box, destination
    box.forget(destination)
    client.srem(keys.DESTINATIONS, destination)
    client.close()


def claim(box: Outbox, destination: str, lane: str) -> tuple[str, int, int]:
    """(outcome, traces claimed, the limit the claim applied)."""
    got = box.claim(destination, lane, wanted=[], limit=LIMIT, lease_ms=LEASE_MS, lanes=LANES, trial=TRIAL)
    return got.outcome, len(got.traces), got.limit


def test_a_new_destination_is_tried_with_one_lane_and_a_trial_claim(outbox: tuple[Outbox, str]) -> None:
    box, destination = outbox
    first = box.claim(destination, "a", wanted=[], limit=LIMIT, lease_ms=LEASE_MS, lanes=LANES, trial=TRIAL)
    assert (first.outcome, len(first.traces), first.limit) == ("ok", TRIAL, TRIAL)
    assert claim(box, destination, "b") == ("busy", 0, 0)

    box.delivered(destination, [c.trace_id for c in first.traces])
    assert [claim(box, destination, lane) for lane in "abcde"] == [
        ("ok", LIMIT, LIMIT), ("ok", LIMIT, LIMIT), ("ok", LIMIT, LIMIT), ("ok", 1000 - TRIAL - 3 * LIMIT, LIMIT),
        ("busy", 0, 0)]


def test_a_failing_destination_is_tried_with_a_trial_claim_again(outbox: tuple[Outbox, str]) -> None:
    box, destination = outbox
    first = box.claim(destination, "a", wanted=[], limit=LIMIT, lease_ms=LEASE_MS, lanes=LANES, trial=TRIAL)
    box.delivered(destination, [c.trace_id for c in first.traces])
    second = box.claim(destination, "a", wanted=[], limit=LIMIT, lease_ms=LEASE_MS, lanes=LANES, trial=TRIAL)
    assert len(second.traces) == LIMIT

    box.retry(destination, [c.trace_id for c in second.traces], delay_ms=50, error={"code": "SlowDown"})
    box.release(destination, "a")
    time.sleep(0.1)
    assert claim(box, destination, "a") == ("ok", TRIAL, TRIAL)
    assert claim(box, destination, "b") == ("busy", 0, 0)
