"""Trace bodies in Redis are zstd-compressed, with a dictionary the deployment trains from its own traces once it
has enough of them, in one string per trace; what earlier versions stored (a hash per trace, a body plain or
compressed without a dictionary) is still delivered and released."""

from __future__ import annotations

import json
import pathlib
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from redis import Redis

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.faults import all_keys, key_of, metric_samples
from worker import keys
from worker.bodies import SAMPLES, Bodies, dictionary_id, pack
from worker.document import build_document
from worker.outbox import HEADER_BYTES, Outbox
from worker.trace import TraceIn, stored_form

pytestmark = pytest.mark.usefixtures("running")

ZSTD = b"\x28\xb5\x2f\xfd"


def stored_as_before(redis: Redis, body: bytes, destinations: list[str]) -> int:
    """Store a trace as versions before the one-string record did: a hash (b, n, a) and its owed entries."""
    trace_id = int(redis.incr(keys.SEQUENCE))
    seconds, micros = redis.time()
    now = int(seconds) * 1000 + int(micros) // 1000
    with redis.pipeline() as pipe:
        pipe.hset(keys.body(trace_id), mapping={"b": body, "n": len(destinations), "a": now})
        for destination in destinations:
            pipe.zadd(keys.owed(destination), {trace_id: now})
        pipe.execute()
    return trace_id


def stored_body(redis: Redis, trace_id: int) -> bytes:
    """The stored body in a trace's record (after its header)."""
    return bytes(redis.get(keys.body(trace_id)) or b"")[HEADER_BYTES:]


def test_an_owed_trace_is_kept_compressed_and_its_bytes_are_in_the_status(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str,
    redis_server: stack.RedisServer, api_server: stack.Api,
) -> None:
    # A batch destination exporting once a day keeps the trace owed, so its body stays in Redis
    destination = admin.destination(workspace, stack.s3_body(s3, bucket, mode="batch", every=86400))["id"]
    trace = make_trace(1, id=f"gen-{uuid.uuid4().hex}",
                       request={"messages": [{"role": "user", "content": "What is the capital of France? " * 20}]})
    assert ingest.post("/v1/traces", json={"traces": [trace]}).status_code == 202
    redis = Redis.from_url(redis_server.url)
    plain = orjson.dumps(stored_form(TraceIn.model_validate(trace)))
    mine = [body for key in redis.scan_iter(match=keys.body("*"), count=1000, _type="string")
            if orjson.loads(Bodies(redis).unpack(body := stored_body(redis, int(key.split(b":")[-1]))))["id"]
            == trace["id"]]
    assert len(mine) == 1
    assert mine[0].startswith(ZSTD) and len(mine[0]) < len(plain) / 2

    # and the status and /metrics give the backlog's stored bytes
    assert admin.status(workspace, destination)["backlog"] == {
        "size": 1, "oldest_age_seconds": pytest.approx(0, abs=60), "bytes": len(mine[0])}
    found = metric_samples(api_server.url)
    assert found[("tracedrop_backlog_bytes", (("destination", destination), ("workspace", workspace)))] == len(mine[0])


def test_a_body_stored_plain_before_compression_is_still_delivered(
    admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str, redis_server: stack.RedisServer
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket))["id"]
    trace = stored_form(TraceIn.model_validate(make_trace(7, user="u-1")))
    plain = orjson.dumps(trace)
    # As an earlier version stored it: the JSON itself in a hash (the reconciler announces it)
    stored_as_before(Redis.from_url(redis_server.url), plain, [destination])
    [key] = all_keys(s3, bucket, {key_of(7)}, timeout=60)
    assert orjson.loads(s3.objects(bucket)[key]) == build_document(trace, privacy_mode=False)


def test_a_trace_stored_as_a_hash_by_an_earlier_version_is_delivered_counted_and_released(
    admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str, redis_server: stack.RedisServer
) -> None:
    # Given a trace stored by the version before this layout, owed to a per-trace destination and to a daily batch
    per_trace = admin.destination(workspace, stack.s3_body(s3, bucket))["id"]
    daily = admin.destination(workspace, stack.s3_body(s3, bucket, mode="batch", every=86400, prefix="held"))["id"]
    trace = stored_form(TraceIn.model_validate(make_trace(8, user="u-2")))
    body = pack(orjson.dumps(trace))
    redis = Redis.from_url(redis_server.url)
    trace_id = stored_as_before(redis, body, [per_trace, daily])

    # Then the per-trace destination writes it, and the batch's status counts its bytes
    [key] = all_keys(s3, bucket, {key_of(8)}, timeout=60)
    assert orjson.loads(s3.objects(bucket)[key]) == build_document(trace, privacy_mode=False)
    assert admin.status(workspace, daily)["backlog"] == {
        "size": 1, "oldest_age_seconds": pytest.approx(0, abs=60), "bytes": len(body)}
    assert redis.exists(keys.body(trace_id)) == 1

    # and once the last destination that owed it is deleted, the trace leaves Redis
    assert admin.http.delete(f"/v1/workspaces/{workspace}/destinations/{daily}").status_code == 204
    assert redis.exists(keys.body(trace_id)) == 0


WORDS = " ".join(filter(None, (json.__doc__, pathlib.__doc__, random.__doc__, uuid.__doc__))).split()


def chat_trace(index: int, rng: random.Random) -> dict[str, object]:
    """A chat trace of a few hundred words of prose."""
    def prose(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    return make_trace(index, id=f"gen-{index}", user=f"user-{index % 7}", request={"messages": [
        {"role": "system", "content": "You answer questions about the Python standard library."},
        {"role": "user", "content": prose(60)}]}, response={"choices": [{"message": {
            "role": "assistant", "content": prose(200)}, "finish_reason": "stop"}]})


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[Redis]:
    server = stack.redis_server(tmp_path)
    yield Redis.from_url(server.url)
    server.stop()


def test_a_dictionary_is_trained_from_the_samples_and_every_older_body_still_reads(own_redis: Redis) -> None:
    rng = random.Random(3)
    box, after = Outbox(own_redis), Bodies(own_redis)
    before = box.codec
    own_redis.sadd(keys.DESTINATIONS, "dst_1")
    traces = [orjson.dumps(chat_trace(i, rng)) for i in range(SAMPLES + 1)]
    older = [before.pack(t) for t in traces[:SAMPLES]]
    assert {dictionary_id(body) for body in older} == {0}
    assert before.train() is None  # not yet sampled
    box.accept([(trace, ["dst_1"]) for trace in traces[:SAMPLES - 1]])  # the accept script keeps them
    box.accept([(trace, []) for trace in traces[:SAMPLES - 1]])  # owed to none: not stored, not sampled
    assert before.train() is None  # one sample short

    box.accept([(traces[SAMPLES - 1], ["dst_1"])])
    dict_id = before.train()

    assert dict_id and int(own_redis.get(keys.DICTIONARY)) == dict_id
    assert own_redis.exists(keys.DICTIONARY_SAMPLES) == 0
    newer = after.pack(traces[SAMPLES])
    assert dictionary_id(newer) == dict_id and len(newer) < len(pack(traces[SAMPLES])) * 0.8
    Outbox(own_redis).accept([(trace, ["dst_1"]) for trace in traces])  # with a dictionary, no more samples
    assert own_redis.exists(keys.DICTIONARY_SAMPLES) == 0
    reader = Bodies(own_redis)
    assert [reader.unpack(body) for body in [*older, newer, traces[0]]] == [*traces, traces[0]]


def test_the_deployment_trains_its_dictionary_and_delivers_bodies_stored_with_it_and_without(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str,
    redis_server: stack.RedisServer
) -> None:
    # Given a deployment without a current dictionary (whatever an earlier test trained) and a destination that
    # keeps its traces owed (a daily batch), so their bodies stay in Redis to look at
    redis = Redis.from_url(redis_server.url)
    redis.delete(keys.DICTIONARY)
    admin.destination(workspace, stack.s3_body(s3, bucket, mode="batch", every=86400, prefix="held"))
    rng, sent = random.Random(5), 0

    def trained() -> bytes | None:
        nonlocal sent
        batch = [chat_trace(sent + i, rng) for i in range(200)]
        assert ingest.post("/v1/traces", json={"traces": batch}).status_code == 202
        sent += len(batch)
        return redis.get(keys.DICTIONARY)

    # When it has taken in enough traces, the heartbeat trains a dictionary from them
    dict_id = int(wait_for(trained, timeout=120, what="a trained dictionary"))

    # Then the api stores new bodies with it, and a worker delivers them
    per_trace = admin.destination(workspace, stack.s3_body(s3, bucket))["id"]
    first = sent

    def stored_with_it() -> bool:
        nonlocal sent
        assert ingest.post("/v1/traces", json={"traces": [chat_trace(sent, rng)]}).status_code == 202
        sent += 1
        return dictionary_id(stored_body(redis, int(redis.get(keys.SEQUENCE)))) == dict_id

    wait_for(stored_with_it, timeout=60, what="a body stored with the dictionary")
    # and a body stored without a dictionary (as before one existed) is delivered too
    older = stored_form(TraceIn.model_validate(chat_trace(sent, rng)))
    Outbox(redis).scripts.accept(
        sequence=keys.SEQUENCE, destinations=keys.DESTINATIONS, accepted=keys.ACCEPTED, stored=keys.STORED_BYTES,
        samples=keys.DICTIONARY_SAMPLES, routes_version="", ingest_key="",
        per_destination=[keys.owed(per_trace), keys.stats(per_trace), keys.announced(per_trace)], workspace=workspace,
        cap=0, count=1, destination_ids=per_trace, version="", keep_samples=0, announced="0", announce_ms=1000,
        traces=[pack(orjson.dumps(older)), 1, 1])
    found = all_keys(s3, bucket, {key_of(i) for i in range(first, sent + 1)}, timeout=60)
    objects = s3.objects(bucket)
    assert orjson.loads(objects[key_of(sent)]) == build_document(older, privacy_mode=False)
    assert {orjson.loads(objects[key])["id"] for key in found if not key.startswith("held")} == {
        f"gen-{i}" for i in range(first, sent + 1)}
