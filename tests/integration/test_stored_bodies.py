"""Trace bodies in Redis are zstd-compressed; a body stored plain (before compression) is still delivered."""

from __future__ import annotations

import uuid

import httpx
import orjson
import pytest
from redis import Redis

from tests import stack
from tests.conftest import make_trace
from tests.faults import all_keys, key_of, metric_samples
from worker import keys
from worker.bodies import unpack
from worker.document import build_document
from worker.outbox import Outbox
from worker.trace import TraceIn, stored_form

pytestmark = pytest.mark.usefixtures("running")

ZSTD = b"\x28\xb5\x2f\xfd"


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
    mine = [body for key in redis.scan_iter(match=keys.body("*"), count=1000)
            if (body := redis.hget(key, "b")) is not None and orjson.loads(unpack(body))["id"] == trace["id"]]
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
    # As an earlier version stored it: the accept script given the JSON itself (the reconciler announces it)
    redis = Redis.from_url(redis_server.url)
    Outbox(redis)._accept(args=[workspace, 1, plain, 1, destination])
    [key] = all_keys(s3, bucket, {key_of(7)}, timeout=60)
    assert orjson.loads(s3.objects(bucket)[key]) == build_document(trace, privacy_mode=False)
