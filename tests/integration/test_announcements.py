"""When ingest tells the workers about new traces (worker/outbox.py, accept.lua and claim.lua), on a real Redis: once
per destination until a lane finds it with nothing due, so a stream of single-trace requests to a destination being
drained costs no message per request, and the first trace after the drain ran dry is announced at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import orjson
import pytest
import redis

from tests import stack
from worker import keys
from worker.outbox import ANNOUNCED_MS, Outbox
from worker.runtime import LANES, TRIAL

LEASE_MS = 30_000


@pytest.fixture
def destination(redis_server: stack.RedisServer) -> Iterator[tuple[Outbox, redis.Redis, str]]:
    client = redis.Redis.from_url(redis_server.url)
    destination = f"announce-{uuid.uuid4().hex}"
    client.sadd(keys.DESTINATIONS, destination)  # as saving a destination does
    box = Outbox(client)
    yield box, client, destination
    box.forget(destination)
    client.delete(keys.announced(destination))
    client.srem(keys.DESTINATIONS, destination)
    client.close()


def accepted(box: Outbox, destination: str, *, announcing: bool = True) -> list[str]:
    """Accept one trace owed to the destination; the destinations the accept says to announce it to."""
    body = orjson.dumps({"id": f"gen-{uuid.uuid4().hex}", "timestamp": 0, "model": "m"})
    return box.accept([(body, [destination])], announcing={destination} if announcing else ()).announce


def claimed(box: Outbox, destination: str, lane: str) -> tuple[str, int]:
    got = box.claim(destination, lane, wanted=[], limit=100, lease_ms=LEASE_MS, lanes=LANES, trial=TRIAL)
    return got.outcome, len(got.traces)


def test_a_destination_is_announced_again_only_once_a_lane_found_nothing_due(
    destination: tuple[Outbox, redis.Redis, str]
) -> None:
    box, client, name = destination
    assert accepted(box, name) == [name]
    assert accepted(box, name) == []  # announced already: the worker that takes the message finds both
    assert 0 < client.pttl(keys.announced(name)) <= ANNOUNCED_MS  # a lost message delays the next this long

    # a lane at work, another refused (one lane while never written to): traces meanwhile are the lane's to find
    assert claimed(box, name, "a") == ("ok", 2)
    assert claimed(box, name, "b") == ("busy", 0)
    assert accepted(box, name) == []
    assert claimed(box, name, "a") == ("ok", 1)

    # the lane found nothing due: the next trace is announced at once
    assert claimed(box, name, "a") == ("empty", 0)
    assert accepted(box, name) == [name]


def test_a_destination_not_delivered_one_by_one_is_never_announced(
    destination: tuple[Outbox, redis.Redis, str]
) -> None:
    box, client, name = destination
    assert accepted(box, name, announcing=False) == []
    assert client.exists(keys.announced(name)) == 0


def test_a_parked_destination_is_announced_as_traces_come(destination: tuple[Outbox, redis.Redis, str]) -> None:
    box, _, name = destination
    assert accepted(box, name) == [name]
    box.park(name, [], error={"code": "access_denied"}, probe_ms=60_000)
    outcome, _ = claimed(box, name, "a")
    assert outcome == "parked"
    assert accepted(box, name) == [name]
