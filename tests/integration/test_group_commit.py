"""Group commit (api/group_commit.py) on a Redis of its own, so the accept scripts it ran can be counted: requests
in flight together share script calls, each still gets its own traces' ids and its call's outcome, and no call
holds more than GROUP_TRACES traces."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from api.group_commit import GROUP_TRACES, GroupCommit
from tests import stack
from worker import keys, redis_client, store
from worker.outbox import Guard, KeyRevoked, NotReplicated, Outbox, Stored, WorkspaceFull


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.RedisServer]:
    server = stack.redis_server(Path(tmp_path_factory.mktemp("group-commit")))
    yield server
    server.stop()


@pytest.fixture
def destination(own_redis: stack.RedisServer) -> Iterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(own_redis.url)
    destination = f"group-{uuid.uuid4().hex}"
    client.sadd(keys.DESTINATIONS, destination)  # as saving a destination does
    yield client, destination
    Outbox(client).forget(destination)
    client.srem(keys.DESTINATIONS, destination)
    client.close()


def body(i: int) -> bytes:
    return orjson.dumps({"id": f"gen-{i}", "timestamp": 0, "model": "m"})


def script_calls(client: redis.Redis) -> int:
    """Scripts run on this Redis so far (by sha or by text; not a sha it did not know yet)."""
    stats = client.info("commandstats")
    return sum(int(stats.get(name, {}).get("calls", 0)) - int(stats.get(name, {}).get("failed_calls", 0))
               for name in ("cmdstat_evalsha", "cmdstat_eval"))


Request = list[tuple[bytes, list[str]]]


def accept_together(url: str, requests: list[list[bytes]] | list[Request], destination: str = "",
                    **options: Any) -> list[Stored | BaseException]:
    """Every request's traces accepted at once through one GroupCommit, as concurrent ingest requests on one
    event loop are; each request's outcome, in order. A request is its bodies (owed to ``destination``), or its
    bodies with their destinations; ``options`` are every request's, or per request when a list."""
    owed = [[t if isinstance(t, tuple) else (t, [destination]) for t in request] for request in requests]

    async def run() -> list[Stored | BaseException]:
        async with committing(url) as commits:
            return await asyncio.gather(*(commits.accept(o, **options) for o in owed), return_exceptions=True)

    return asyncio.run(run())


@contextlib.asynccontextmanager
async def committing(url: str) -> AsyncIterator[GroupCommit]:
    client = redis.Redis.from_url(url)
    aredis = redis_client.connect_async(url, socket_timeout=5, socket_connect_timeout=3)
    try:
        yield GroupCommit(Outbox(client, aredis))
    finally:
        await aredis.aclose()
        client.close()


def test_requests_in_flight_together_share_script_calls_and_each_gets_its_own_traces(
    own_redis: stack.RedisServer, destination: tuple[redis.Redis, str]
) -> None:
    client, name = destination
    box = Outbox(client)
    requests = [[body(i)] for i in range(60)] + [[body(100 + i) for i in range(3)]]
    before = script_calls(client)

    outcomes = accept_together(own_redis.url, requests, name, announcing={name})

    # the first request went alone; every other waited for it and they went together
    assert script_calls(client) - before == 2
    assert all(isinstance(outcome, Stored) for outcome in outcomes), outcomes
    stored = [outcome for outcome in outcomes if isinstance(outcome, Stored)]
    assert [len(s.trace_ids) for s in stored] == [1] * 60 + [3]
    ids = [trace_id for s in stored for trace_id in s.trace_ids]
    assert len(set(ids)) == len(ids) == 63
    # each request's ids name its own traces, owed to the destination
    sent = [b for bodies in requests for b in bodies]
    assert [box.codec.unpack(b) for b in box.bodies(ids)] == sent  # type: ignore[arg-type]
    assert client.zcard(keys.owed(name)) == 63
    assert box.status(name).backlog == 63
    # the destination is announced once, by the first: the others' call found it announced already
    assert [s.announce for s in stored] == [[name]] + [[]] * 60


def test_no_call_holds_more_than_group_traces(own_redis: stack.RedisServer,
                                              destination: tuple[redis.Redis, str]) -> None:
    client, name = destination
    requests = [[body(i)] for i in range(GROUP_TRACES + 50)]
    before = script_calls(client)

    outcomes = accept_together(own_redis.url, requests, name)

    # one alone, then GROUP_TRACES of those that waited, then the rest
    assert script_calls(client) - before == 3
    assert all(isinstance(outcome, Stored) for outcome in outcomes)
    assert client.zcard(keys.owed(name)) == GROUP_TRACES + 50


def test_a_request_larger_than_a_group_still_goes_in_one_call(own_redis: stack.RedisServer,
                                                              destination: tuple[redis.Redis, str]) -> None:
    client, name = destination
    requests = [[body(0)], [body(1)], [body(2 + i) for i in range(GROUP_TRACES + 1)], [body(-1)]]
    before = script_calls(client)

    outcomes = accept_together(own_redis.url, requests, name)

    # alone; then the next waiting (one), as the large one would pass the bound; then the large one; then the last
    assert script_calls(client) - before == 4
    assert [len(o.trace_ids) for o in outcomes if isinstance(o, Stored)] == [1, 1, GROUP_TRACES + 1, 1]


def test_a_refusal_answers_every_request_of_the_call_and_stores_nothing(
    own_redis: stack.RedisServer, destination: tuple[redis.Redis, str]
) -> None:
    client, name = destination
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    version = str(client.get(keys.routes_version(workspace)) or b"0", "ascii")
    revoked = Guard(version, store.key_digest("td_not-a-key"))
    sequence, before = int(client.get(keys.SEQUENCE) or 0), script_calls(client)

    outcomes = accept_together(own_redis.url, [[body(i)] for i in range(20)], name, workspace=workspace,
                               guard=revoked)

    assert all(isinstance(outcome, KeyRevoked) for outcome in outcomes), outcomes
    assert script_calls(client) - before == 2  # one alone, then the others together
    assert client.zcard(keys.owed(name)) == 0
    assert int(client.get(keys.SEQUENCE) or 0) == sequence


def test_a_workspace_at_its_cap_refuses_every_request_of_the_call_owed_somewhere(
    own_redis: stack.RedisServer, destination: tuple[redis.Redis, str]
) -> None:
    client, name = destination
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    Outbox(client).accept([(body(0), [name])], workspace=workspace)  # its stored bytes: one trace's
    before = script_calls(client)

    # owed somewhere: refused at the cap; owed nowhere (its destinations' rules refused it): nothing to store,
    # so not refused (the script checks the cap only for traces it stores), and not joined with the others
    requests = [[(body(i), [] if i in (2, 5) else [name])] for i in range(1, 21)]
    outcomes = accept_together(own_redis.url, requests, workspace=workspace, cap=1)

    assert [type(o) for o in outcomes] == [WorkspaceFull if i not in (2, 5) else Stored for i in range(1, 21)]
    assert script_calls(client) - before == 4
    assert client.zcard(keys.owed(name)) == 1


def test_too_few_replicas_tells_each_request_its_own_stored_traces(
    own_redis: stack.RedisServer, destination: tuple[redis.Redis, str]
) -> None:
    client, name = destination  # this Redis has no replica: WAIT answers 0 after REPLICA_WAIT_MS

    outcomes = accept_together(own_redis.url, [[body(i)] for i in range(5)] + [[body(7), body(8)]], name,
                               replicas=1)

    assert all(isinstance(outcome, NotReplicated) for outcome in outcomes), outcomes
    refused = [outcome for outcome in outcomes if isinstance(outcome, NotReplicated)]
    assert [(r.acknowledged, r.required) for r in refused] == [(0, 1)] * 6
    ids = [trace_id for r in refused for trace_id in r.stored.trace_ids]
    assert [len(r.stored.trace_ids) for r in refused] == [1] * 5 + [2]
    # stored on the master all the same, and owed: each request's ids are its own traces
    box = Outbox(client)
    assert [box.codec.unpack(b) for b in box.bodies(ids)] == [  # type: ignore[arg-type]
        *(body(i) for i in range(5)), body(7), body(8)]


def test_requests_of_another_group_go_in_calls_of_their_own(own_redis: stack.RedisServer,
                                                             destination: tuple[redis.Redis, str]) -> None:
    client, name = destination
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    _, key = store.create_ingest_key(client, workspace=workspace, name="gateway")
    version = str(client.get(keys.routes_version(workspace)) or b"0", "ascii")
    valid, revoked = Guard(version, store.key_digest(key)), Guard(version, store.key_digest("td_revoked"))
    before = script_calls(client)

    async def run() -> list[Stored | BaseException]:
        async with committing(own_redis.url) as commits:
            return await asyncio.gather(*(commits.accept([(body(i), [name])], workspace=workspace,
                                                         guard=valid if i % 2 else revoked) for i in range(40)),
                                        return_exceptions=True)

    outcomes = asyncio.run(run())

    # each key's requests: one alone, then the others together
    assert script_calls(client) - before == 4
    assert all(isinstance(o, Stored if i % 2 else KeyRevoked) for i, o in enumerate(outcomes)), outcomes
    stored = [o for o in outcomes if isinstance(o, Stored)]
    box = Outbox(client)
    assert [box.codec.unpack(b) for b in box.bodies([s.trace_ids[0] for s in stored])] == [  # type: ignore[arg-type]
        body(i) for i in range(1, 40, 2)]


def test_every_request_of_a_joined_call_is_told_the_destinations_it_announced(
    own_redis: stack.RedisServer, destination: tuple[redis.Redis, str]
) -> None:
    client, first = destination
    second = f"group-{uuid.uuid4().hex}"
    client.sadd(keys.DESTINATIONS, second)
    try:
        # the first request's traces are owed to one destination, those that wait for it to another
        requests = [[(body(0), [first])]] + [[(body(i), [second])] for i in range(1, 10)]

        outcomes = accept_together(own_redis.url, requests, announcing={first, second})

        assert [o.announce for o in outcomes if isinstance(o, Stored)] == [[first]] + [[second]] * 9
    finally:
        Outbox(client).forget(second)
        client.srem(keys.DESTINATIONS, second)


def test_a_failed_call_answers_its_requests_and_the_next_calls_go_on(own_redis: stack.RedisServer,
                                                                     destination: tuple[redis.Redis, str]) -> None:
    client, name = destination
    workspace = f"ws-{uuid.uuid4().hex[:8]}"

    async def run() -> tuple[list[Stored | BaseException], list[Stored | BaseException]]:
        async with committing(own_redis.url) as commits:
            client.config_set("maxmemory", 1)  # Redis refuses the accept script (and only it) when full
            try:
                failed = await asyncio.gather(*(commits.accept([(body(i), [name])], workspace=workspace)
                                                for i in range(10)), return_exceptions=True)
            finally:
                client.config_set("maxmemory", 0)
            then = await asyncio.gather(*(commits.accept([(body(i), [name])], workspace=workspace)
                                          for i in range(10, 20)), return_exceptions=True)
            return failed, then

    failed, then = asyncio.run(run())

    assert all(isinstance(o, redis.exceptions.OutOfMemoryError) for o in failed), failed
    assert all(isinstance(o, Stored) for o in then), then
    assert client.zcard(keys.owed(name)) == 10


def test_the_requests_waiting_for_a_cancelled_one_are_still_sent(own_redis: stack.RedisServer,
                                                                 destination: tuple[redis.Redis, str]) -> None:
    client, name = destination

    async def run() -> list[Stored | BaseException]:
        async with committing(own_redis.url) as commits:
            first = asyncio.create_task(commits.accept([(body(0), [name])]))
            await asyncio.sleep(0)  # its call is on its way
            waiting = [asyncio.create_task(commits.accept([(body(i), [name])])) for i in range(1, 6)]
            await asyncio.sleep(0)
            first.cancel()  # as when the process stops
            return await asyncio.gather(*waiting, return_exceptions=True)

    outcomes = asyncio.run(run())

    assert all(isinstance(o, Stored) for o in outcomes), outcomes
    box = Outbox(client)
    assert [box.codec.unpack(b) for b in box.bodies([o.trace_ids[0] for o in outcomes])] == [  # type: ignore
        body(i) for i in range(1, 6)]


def test_the_requests_that_waited_are_sent_at_once_not_one_call_after_another(
    own_redis: stack.RedisServer, destination: tuple[redis.Redis, str]
) -> None:
    client, name = destination
    before = int(client.info("stats")["total_connections_received"])

    # one alone; then GROUP_TRACES + 50 that waited for it, in two calls
    accept_together(own_redis.url, [[body(i)] for i in range(GROUP_TRACES + 51)], name)

    # the two were in flight together: the asyncio client opened a second connection for the second
    assert int(client.info("stats")["total_connections_received"]) - before == 2
