"""A destination's state after every transition (worker/state.py), as the status API and /metrics show it, for a
per-trace and a batch destination alike; and a PATCH that passes its connection test resumes a parked destination
exactly as a passed probe does (its probe backoff starts afresh)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from redis import Redis

from tests import stack
from tests.faults import metric_samples
from worker import keys, state
from worker.batch.outbox import BatchOutbox
from worker.errors import DestinationError
from worker.health import Health
from worker.outbox import Outbox
from worker.retry import PROBE

ERROR = {"code": "AccessDenied", "message": "denied", "at": "2026-12-06T00:00:00.000Z"}
LATER_MS = 600_000
"""Holds and probes far enough away that no worker of the suite acts on them during the test."""


@pytest.fixture
def redis(redis_server: stack.RedisServer) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    client.close()


def shown(api: stack.Api, admin: stack.Admin, workspace: str, destination: str) -> dict[str, Any]:
    """What the status API and /metrics say of the destination's state."""
    status = admin.status(workspace, destination)
    labels = (("destination", destination), ("workspace", workspace))
    samples = metric_samples(api.url)
    return {"state": status["state"], "parked": status["parked"], "held": status["retry_at"] is not None,
            "probe": status["next_probe_at"] is not None, "error": (status["last_error"] or {}).get("code"),
            "metric_failing": samples[("tracedrop_destination_failing", labels)],
            "metric_parked": samples[("tracedrop_destination_parked", labels)]}


HEALTHY = {"state": "healthy", "parked": False, "held": False, "probe": False, "error": None,
           "metric_failing": 0, "metric_parked": 0}
HELD = {"state": "failing", "parked": False, "held": True, "probe": False, "error": "AccessDenied",
        "metric_failing": 1, "metric_parked": 0}
PARKED = {"state": "failing", "parked": True, "held": False, "probe": True, "error": "AccessDenied",
          "metric_failing": 1, "metric_parked": 1}


def test_a_per_trace_destination_shows_each_transition_and_a_patch_resumes_it(
    api_server: stack.Api, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str, redis: Redis
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket))["id"]
    outbox = Outbox(redis)
    assert shown(api_server, admin, workspace, destination) == HEALTHY

    # held after a transient failure, healthy again after a write
    outbox.retry(destination, [], delay_ms=LATER_MS, error=ERROR)
    assert shown(api_server, admin, workspace, destination) == HELD
    outbox.delivered(destination, [])
    assert shown(api_server, admin, workspace, destination) == HEALTHY

    # parked by a destination error; probes that fail keep it parked and count
    outbox.park(destination, [], error={**ERROR, "parked": True}, probe_ms=LATER_MS)
    assert shown(api_server, admin, workspace, destination) == PARKED
    for _ in range(2):
        outbox.probe_failed(destination, error={**ERROR, "parked": True}, delay_ms=LATER_MS)
    assert shown(api_server, admin, workspace, destination) == PARKED
    assert state.read(redis, destination).probe_failures == 2

    # a PATCH that passes its connection test resumes it, as a passed probe does: the probe backoff starts afresh
    response = admin.http.patch(f"/v1/workspaces/{workspace}/destinations/{destination}", json={"prefix": "again"})
    assert response.status_code == 200, response.text
    resumed = state.read(redis, destination)
    assert (resumed.parked, resumed.probe_failures, resumed.failures) == (False, 0, 0)
    next_probe = Health(redis).probe_failed(destination, DestinationError("still denied")).delay_ms
    assert next_probe <= PROBE.base_ms * PROBE.factor  # the first failure's backoff, not the third's
    assert shown(api_server, admin, workspace, destination) == {**HEALTHY, "state": "failing",
                                                                "error": "AccessDenied", "metric_failing": 1}


def test_a_batch_destination_goes_through_the_same_transitions(
    api_server: stack.Api, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str, redis: Redis
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket, mode="batch", every=86400))["id"]
    outbox, batch = Outbox(redis), BatchOutbox(redis)
    assert shown(api_server, admin, workspace, destination) == HEALTHY

    batch.failed(destination, records=3, error=ERROR, retry_ms=LATER_MS)
    assert shown(api_server, admin, workspace, destination) == HELD

    # a file written: healthy again, its record delivered, one file counted
    [trace_id] = outbox.accept([(orjson.dumps({"id": "gen-state", "model": "m"}), [destination])]).trace_ids
    lease = batch.lease(destination)
    assert lease is not None
    try:
        manifest = batch.open(destination, lease.token, location="state-test", stem="state/file", extension=".x",
                              fmt="jsonl.gz", privacy_mode=False, trace_ids=[trace_id])
        assert manifest is not None
        assert batch.ack(destination, manifest.key) == 1
    finally:
        lease.release()
    assert shown(api_server, admin, workspace, destination) == HEALTHY
    status = admin.status(workspace, destination)
    assert (status["delivered"], status["files"], status["retried"]) == (1, 1, 3)

    batch.failed(destination, records=2, error={**ERROR, "parked": True}, park=True, probe_ms=LATER_MS)
    assert shown(api_server, admin, workspace, destination) == PARKED
    assert admin.status(workspace, destination)["failed"] == 2

    response = admin.http.patch(f"/v1/workspaces/{workspace}/destinations/{destination}", json={"prefix": "again"})
    assert response.status_code == 200, response.text
    assert state.read(redis, destination).parked is False
    assert not redis.hexists(keys.stats(destination), "next_probe_at")
