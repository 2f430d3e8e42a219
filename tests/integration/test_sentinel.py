"""Redis Sentinel and ``TRACEDROP_REDIS_MIN_REPLICAS``: a master, two replicas and three sentinels on loopback
(real redis-server processes, the sentinels too); the api and a worker follow a failover of the master."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.faults import Clock, all_keys, installation, key_of, keys_of

pytestmark = pytest.mark.faults

HANG = 5.0
"""Seconds a gateway waits for an answer; a request that takes longer hung."""


class Gateway(threading.Thread):
    """Posts one trace a request, as fast as it is answered, and notes every answer (a hang is an answer too)."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=HANG)
        self.answers: list[tuple[int, int | str, float]] = []  # trace index, status (or "hang"), when answered
        self.stopping = threading.Event()

    def run(self) -> None:
        index = 0
        while not self.stopping.is_set():
            try:
                status: int | str = self.client.post("/v1/traces", json={"traces": [make_trace(index)]}).status_code
            except httpx.TimeoutException:
                status = "hang"
            except httpx.TransportError as exc:
                status = type(exc).__name__
            self.answers.append((index, status, time.monotonic()))
            index += 1

    def accepted(self, *, after: float = 0.0) -> set[int]:
        return {i for i, status, at in self.answers if status == 202 and at > after}

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)
        self.client.close()


def test_a_master_killed_while_a_gateway_posts_loses_no_trace_answered_202(tmp_path: Path, s3: stack.SeaweedFS) -> None:
    with installation(tmp_path, s3, beat=False, sentinel=True, redis_min_replicas="1") as td:
        assert isinstance(td.redis, stack.SentinelSet)
        bucket = td.bucket()
        destination = td.destination(bucket)
        td.worker()
        gateway = Gateway(td.api.url, td.ingest.headers["Authorization"].removeprefix("Bearer "))
        gateway.start()
        try:
            # Given a gateway posting, every trace acknowledged by a replica before its 202
            wait_for(lambda: len(gateway.accepted()) >= 150, timeout=60, what="150 traces accepted")

            # When the master is SIGKILLed mid-stream
            old = td.redis.master_port()
            td.redis.server(old).kill()
            killed = time.monotonic()
            wait_for(lambda: td.redis.master_port() != old, timeout=60, what="a new master elected")
            elected = time.monotonic()

            # Then the gateway is answered again (202s, not 503s) within seconds of the election
            wait_for(lambda: len(gateway.accepted(after=elected)) >= 150, timeout=60,
                     what="150 traces accepted by the new master")
        finally:
            gateway.stop()

        statuses = {status for _, status, _ in gateway.answers}
        assert statuses <= {202, 503}, f"answers other than 202 and 503: {statuses}"
        refused = [at for _, status, at in gateway.answers if status == 503]
        last_refusal = max(refused, default=elected) - elected
        assert last_refusal < 15, f"503s went on {last_refusal:.1f}s after the new master's election"

        # And every trace answered 202 is delivered, to its key, with its own content (nothing else arrives)
        accepted = gateway.accepted()
        posted = {index for index, _, _ in gateway.answers}
        try:
            found = all_keys(s3, bucket, keys_of(accepted), timeout=120)
        except AssertionError:
            there = set(s3.keys(bucket))
            missing = sorted(i for i in accepted if key_of(i) not in there)
            raise AssertionError(f"{len(missing)} traces answered 202 not delivered (indexes {missing[:20]}); the "
                                 f"destination's status: {td.status(destination)}") from None
        assert found <= keys_of(posted)
        objects = s3.objects(bucket)
        assert all(orjson.loads(objects[key_of(i)])["id"] == f"gen-{i}" for i in accepted)
        print(f"\nsentinel failover: {len(accepted)} accepted, {len(refused)} answered 503, all delivered; "
              f"election {elected - killed:.1f}s after the kill, last 503 {last_refusal:.1f}s after it")


def test_a_trace_fewer_replicas_acknowledged_is_answered_503_and_may_still_be_delivered(
    tmp_path: Path, s3: stack.SeaweedFS
) -> None:
    # A plain redis-server has no replica: with TRACEDROP_REDIS_MIN_REPLICAS=1 none acknowledges in time
    with installation(tmp_path, s3, beat=False, redis_min_replicas="1") as td:
        bucket = td.bucket()
        td.destination(bucket)
        td.worker()
        clock = Clock()
        response = td.ingest.post("/v1/traces", json={"traces": [make_trace(1)]})

        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        error = response.json()["error"]
        assert error["code"] == "not_replicated"
        assert "0 of 1 replicas acknowledged" in error["message"]
        waited = clock()
        # The master kept it: it is owed, and delivered, to the key a gateway's retry would land on as well
        assert all_keys(s3, bucket, {key_of(1)}, timeout=60) == {key_of(1)}
        assert td.ingest.post("/v1/traces", json={"traces": [make_trace(1)]}).status_code == 503
        assert all_keys(s3, bucket, {key_of(1)}, timeout=60) == {key_of(1)}
        print(f"\nnot replicated: 503 after {waited}s; delivered all the same")
