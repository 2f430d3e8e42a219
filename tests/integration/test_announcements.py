"""When ingest tells the workers about new traces (worker/outbox.py, accept.lua and claim.lua), on a real Redis: once
per destination until a lane finds it with nothing due, so a stream of single-trace requests to a destination being
drained costs no message per request, and the first trace after the drain ran dry is announced at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import redis

from tests import stack
from tests.conftest import make_trace
from worker import keys, store
from worker.kinds.s3.config import S3Destination
from worker.outbox import ANNOUNCED_MS, Outbox
from worker.runtime import LANES, TRIAL
from worker.settings import get_settings

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

    # and a destination deleted takes its mark with it
    box.forget(name)
    assert client.exists(keys.announced(name)) == 0


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


def test_the_api_announces_a_destination_being_drained_once(redis_server: stack.RedisServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from api.main import attach, create_app

    # Given an api whose announcements are recorded, and a workspace with one per-trace destination
    for name, value in stack.tracedrop_env(redis_server.url).items():
        if name.startswith("TRACEDROP_"):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    client = redis.Redis.from_url(redis_server.url)
    workspace = f"announce-{uuid.uuid4().hex[:8]}"
    store.put_workspace(client, workspace=workspace, broadcast_enabled=True)
    _, key = store.create_ingest_key(client, workspace=workspace, name="gateway")
    saved = S3Destination(name="s3", bucket_name="announce-bucket", region="us-east-1", access_key_id="a",
                          access_secret="b", endpoint="https://store.invalid", id=store.new_destination_id(),
                          workspace=workspace, created_at=store.now_iso())
    store.save_destination(client, destination=saved, action="destination.created",
                           secret_key=get_settings().secret_key.get_secret_value())
    announced: list[tuple[str, list[int]]] = []
    app = create_app()
    announcer = attach(app, client, lambda destination, ids: announced.append((destination, ids)), get_settings())
    loop = asyncio.new_event_loop()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tracedrop.test",
                             headers={"Authorization": f"Bearer {key}"})

    def post(i: int) -> dict[str, Any]:
        answer = loop.run_until_complete(http.post("/v1/traces", json=make_trace(i)))
        assert answer.status_code == 202, answer.text
        announcer.flush()
        return dict(answer.json())

    try:
        # When two traces come while nobody has claimed any, Then the destination is announced once
        assert post(1) == post(2) == {"accepted": 1, "owed": 1, "discarded": {}}
        assert [destination for destination, _ in announced] == [saved.id]

        # When a lane drains it and finds nothing more due, Then the next trace is announced at once, by its id
        box = Outbox(client)
        assert claimed(box, saved.id, "lane") == ("ok", 2)
        assert claimed(box, saved.id, "lane") == ("empty", 0)
        post(3)
        assert [destination for destination, _ in announced] == [saved.id, saved.id]
        assert announced[1][1] == [int(client.get(keys.SEQUENCE) or 0)]
    finally:
        loop.run_until_complete(http.aclose())
        loop.run_until_complete(app.state.outbox.aredis.aclose())
        loop.close()
        announcer.close()
        store.delete_destination(client, destination=saved)
        Outbox(client).forget(saved.id)
        client.close()
        get_settings.cache_clear()
