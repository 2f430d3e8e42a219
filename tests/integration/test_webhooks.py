"""Webhook destinations against a real HTTP receiver on loopback, through the whole stack.

Signatures are verified with the ``standardwebhooks`` library (JSON bodies) and with the spec's algorithm written
out here (protobuf bodies), never with tracedrop's own code.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.faults import all_keys, keys_of, latency, traces
from tests.receiver import (
    Answer,
    Receiver,
    Request,
    delivered_ids,
    new_secret,
    start_receiver,
    verified,
    webhook,
)

pytestmark = pytest.mark.usefixtures("running")

MASK = "********"


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = start_receiver()
    yield server
    server.stop()


def ids(count: int, start: int = 0) -> list[str]:
    return [f"gen-{i}" for i in range(start, start + count)]


@pytest.mark.parametrize(("fmt", "batch_size"), [("json", 1), ("json", 7), ("otlp_json", 1), ("otlp_proto", 5)])
def test_every_trace_arrives_signed_in_the_destinations_format(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, receiver: Receiver, fmt: str, batch_size: int
) -> None:
    # Given a signed webhook with a secret header, in one format
    secret = new_secret()
    created = admin.destination(workspace, webhook(receiver, format=fmt, batch_size=batch_size, signing_secret=secret,
                                                   headers={"Authorization": "Bearer hook-token"}))
    assert created["headers"] == {"Authorization": MASK} and created["signing_secret"] == MASK
    [test] = receiver.requests
    assert test.testing and verified(secret, test) in (b"[]", b'{"resourceSpans":[]}', b"")

    # When 20 traces are accepted
    assert ingest.post("/v1/traces", json={"traces": traces(20)}).status_code == 202

    # Then each arrives, once, in a request that verifies, with the configured header
    wait_for(lambda: sorted(delivered_ids(receiver, secret)) == sorted(ids(20)), what="20 traces delivered")
    requests = receiver.deliveries()
    assert all(r.method == "POST" and r.path == "/hook" for r in requests)
    assert all(r.headers["authorization"] == "Bearer hook-token" for r in requests)
    assert all(r.headers["content-type"] == ("application/x-protobuf" if fmt == "otlp_proto"
                                             else "application/json") for r in requests)
    if fmt == "json":
        bodies = [orjson.loads(r.body) for r in requests]
        assert all(isinstance(b, dict if batch_size == 1 else list) for b in bodies)
        assert all(len(b) <= batch_size for b in bodies if isinstance(b, list))
    wait_for(lambda: admin.status(workspace, created["id"])["delivered"] == 20, what="status delivered 20")


def test_tracedrop_reads_its_own_otlp_output_back_into_the_same_document(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, receiver: Receiver, api_server: stack.Api,
    s3: stack.SeaweedFS, bucket: str,
) -> None:
    # Given a workspace writing each trace to S3 and to an OTLP webhook
    direct = f"{bucket}-direct"
    s3.client().create_bucket(Bucket=direct)
    admin.destination(workspace, stack.s3_body(s3, direct))
    admin.destination(workspace, webhook(receiver, format="otlp_proto"))
    trace = make_trace(1, user="u-7", session_id="s-3", api_key_name="prod", provider="openai", duration_ms=900,
                       trace={"trace_id": "t-1", "trace_name": "search", "team": "search", "tier": 2, "beta": True,
                              "ratio": 0.5, "labels": ["a", "b"]},
                       usage={"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42},
                       cost={"total": 0.0012, "input": 0.0002, "output": 0.001}, finish_reason="stop",
                       request={"messages": [{"role": "user", "content": "hi"}], "temperature": 0.2},
                       response={"choices": [{"message": {"role": "assistant", "content": "hello"},
                                              "finish_reason": "stop"}]})
    assert ingest.post("/v1/traces", json={"traces": [trace]}).status_code == 202
    [original_key] = all_keys(s3, direct, keys_of([1]), timeout=60)
    [request] = wait_for(lambda: receiver.deliveries(), what="the OTLP delivery")

    # When that OTLP body is posted, as is, to another workspace's OTLP ingest with an S3 destination
    again = f"ws-again-{os.urandom(4).hex()}"
    admin.workspace(again)
    admin.destination(again, stack.s3_body(s3, bucket))
    key = admin.ingest_key(again)
    answer = httpx.post(f"{api_server.url}/v1/traces", content=request.body, timeout=30,
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-protobuf"})
    assert answer.status_code == 200, answer.text

    # Then the object has the same key and the same document fields
    [round_trip_key] = all_keys(s3, bucket, keys_of([1]), timeout=60)
    assert round_trip_key == original_key
    original = orjson.loads(s3.objects(direct)[original_key])
    round_trip = orjson.loads(s3.objects(bucket)[round_trip_key])
    assert original["userId"] == "u-7" and original["metadata"]["team"] == "search"
    assert round_trip == original


def test_a_receiver_answering_503_for_20_seconds_loses_nothing(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, receiver: Receiver
) -> None:
    # Given a receiver that answers 503 (asking for 2 s between tries) for 20 s
    secret = new_secret()
    destination = admin.destination(workspace, webhook(receiver, format="json", batch_size=10,
                                                       signing_secret=secret))["id"]
    until = time.monotonic() + 20

    def unavailable(request: Request) -> Answer:
        if time.monotonic() < until:
            return 503, {"Retry-After": "2"}, b"down for maintenance"
        return 200, {}, b""

    receiver.behave = unavailable

    # When 100 traces are accepted meanwhile
    assert ingest.post("/v1/traces", json={"traces": traces(100)}).status_code == 202

    # Then the destination shows it failing with the receiver's answer, waiting at least what Retry-After said
    failing = wait_for(lambda: (s if (s := admin.status(workspace, destination))["state"] == "failing" else None),
                       what="the destination failing")
    assert failing["last_error"]["code"] == "receiver_error" and "HTTP 503" in failing["last_error"]["message"]
    assert "down for maintenance" in failing["last_error"]["message"]
    assert failing["last_error"]["retry_in_ms"] >= 2000 and failing["parked"] is False
    # and once it answers again every trace arrives, once
    wait_for(lambda: len(delivered_ids(receiver, secret)) >= 100, timeout=90, what="100 traces after the outage")
    assert sorted(delivered_ids(receiver, secret)) == sorted(ids(100))
    done = wait_for(lambda: (s if (s := admin.status(workspace, destination))["state"] == "healthy" else None),
                    what="healthy again")
    assert done["delivered"] == 100 and done["backlog"]["size"] == 0 and done["dead_lettered"] == 0


def test_a_receiver_turning_401_parks_the_destination_until_a_patch_sends_the_right_header(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, receiver: Receiver
) -> None:
    # Given a receiver that takes one bearer token, and a destination sending it
    token = {"value": "Bearer first"}

    def authorised(request: Request) -> Answer:
        if request.headers.get("authorization") != token["value"]:
            return 401, {}, b'{"error": "bad token"}'
        return 204, {}, b""

    receiver.behave = authorised
    destination = admin.destination(workspace, webhook(receiver, format="otlp_json",
                                                       headers={"Authorization": "Bearer first", "X-Team": "a"}))
    route = f"/v1/workspaces/{workspace}/destinations/{destination['id']}"
    assert ingest.post("/v1/traces", json={"traces": traces(10)}).status_code == 202
    wait_for(lambda: len(delivered_ids(receiver, "")) == 10, what="the first 10")

    # When the receiver's token is rotated and more traces are accepted
    token["value"] = "Bearer second"
    assert ingest.post("/v1/traces", json={"traces": traces(15, start=10)}).status_code == 202

    # Then the destination is parked with the receiver's answer, keeping the 15
    parked = wait_for(lambda: (s if (s := admin.status(workspace, destination["id"]))["parked"] else None),
                      what="the destination parked")
    assert parked["last_error"]["code"] == "unauthorized" and "HTTP 401" in parked["last_error"]["message"]
    assert parked["backlog"]["size"] == 15

    # When a PATCH with the old value fails its connection test, nothing changes
    refused = admin.http.patch(route, json={"headers": {"Authorization": "Bearer first", "X-Team": MASK}})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unauthorized"
    # and a PATCH with the new token (the other header kept by its mask) passes and resumes it
    fixed = admin.http.patch(route, json={"headers": {"Authorization": "Bearer second", "X-Team": MASK}})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["headers"] == {"Authorization": MASK, "X-Team": MASK}

    # Then every trace arrives, with both headers, nothing lost
    wait_for(lambda: sorted(delivered_ids(receiver, "")) == sorted(ids(25)), timeout=60, what="all 25")
    assert all(r.headers["x-team"] == "a" for r in receiver.accepted())
    healthy = wait_for(lambda: (s if (s := admin.status(workspace, destination["id"]))["state"] == "healthy"
                                else None), what="healthy")
    assert healthy["backlog"]["size"] == 0 and not healthy["parked"]


def test_a_poison_trace_is_dead_lettered_and_replay_delivers_it_after_the_receiver_is_fixed(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, receiver: Receiver
) -> None:
    # Given a receiver that refuses any body mentioning one user, and a destination sending 10 per request
    fixed = {"done": False}

    def picky(request: Request) -> Answer:
        if b"poison-user" in request.body and not fixed["done"]:
            return 422, {}, b'{"error": "user poison-user is not allowed"}' + b"x" * 2000
        return 200, {}, b""

    receiver.behave = picky
    destination = admin.destination(workspace, webhook(receiver, format="json", batch_size=10))["id"]
    route = f"/v1/workspaces/{workspace}/destinations/{destination}"

    # When ten traces arrive together, one of them the poison
    batch = [*traces(9), make_trace(9, user="poison-user")]
    assert ingest.post("/v1/traces", json={"traces": batch}).status_code == 202

    # Then the nine arrive (the refused request split into one trace per request) and the tenth is a dead letter
    wait_for(lambda: admin.status(workspace, destination)["dead_lettered"] == 1, what="one dead letter")
    assert sorted(delivered_ids(receiver, "")) == sorted(ids(9))
    assert all(isinstance(orjson.loads(r.body), list) for r in receiver.deliveries())
    [letter] = admin.http.get(f"{route}/dead-letters").json()["dead_letters"]
    assert letter["trace_id"] == "gen-9" and letter["reason"]["code"] == "receiver_refused"
    message = letter["reason"]["message"]
    assert "HTTP 422" in message and "poison-user is not allowed" in message and len(message) < 700
    assert admin.status(workspace, destination)["state"] == "healthy"

    # When the receiver is fixed and the dead letters are replayed, the trace arrives, once
    fixed["done"] = True
    assert admin.http.post(f"{route}/dead-letters/replay").json() == {"replayed": 1}
    wait_for(lambda: sorted(delivered_ids(receiver, "")) == sorted(ids(10)), what="the replayed trace")
    assert admin.http.get(f"{route}/dead-letters").json()["dead_letters"] == []


def test_a_hanging_receiver_does_not_hold_back_an_s3_destination_of_the_same_workspace(
    api_server: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, receiver: Receiver,
    s3: stack.SeaweedFS, bucket: str,
) -> None:
    # Given an S3 destination and a webhook in one workspace
    store = admin.destination(workspace, stack.s3_body(s3, bucket))["id"]
    hook = admin.destination(workspace, webhook(receiver, format="json"))["id"]

    def s3_phase(start: int) -> float:
        count, total = latency(api_server.url, workspace, store)
        for offset in range(0, 150, 30):
            assert ingest.post("/v1/traces", json={"traces": traces(30, start=start + offset)}).status_code == 202
        all_keys(s3, bucket, keys_of(range(start + 150)), timeout=120)
        wait_for(lambda: admin.status(workspace, store)["delivered"] == start + 150, what="S3 delivered")
        count_after, total_after = latency(api_server.url, workspace, store)
        return (total_after - total) / (count_after - count)

    normal = s3_phase(0)
    wait_for(lambda: len(delivered_ids(receiver, "")) == 150, what="the webhook caught up")

    # When the receiver accepts connections but never answers
    receiver.hold = threading.Event()
    hanging = s3_phase(150)

    # Then S3 got every trace, once, while the webhook shows the timeouts and keeps what it owes
    assert set(s3.keys(bucket)) == keys_of(range(300))
    failing = wait_for(lambda: (s if (s := admin.status(workspace, hook))["last_error"] else None),
                       timeout=60, what="the webhook failing")
    assert failing["last_error"]["code"] == "timeout" and failing["state"] == "failing"

    # When the receiver answers again, the webhook gets everything, once after dedupe
    receiver.hold.set()
    receiver.hold = None
    wait_for(lambda: sorted(set(delivered_ids(receiver, ""))) == sorted(ids(300)), timeout=120,
             what="the webhook caught up")
    print(f"\nS3 mean delivery latency with the webhook healthy {normal:.3f}s, hanging {hanging:.3f}s "
          f"(ratio {hanging / normal:.2f})")
