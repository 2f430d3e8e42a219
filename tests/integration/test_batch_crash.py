"""Batch exports survive killed processes: no record lost, none in two files, a redone file is the same file.

These tests run their own redis-server, api and beat (the suite's SeaweedFS is shared) so that the only workers
are the ones a test starts and kills. The kill is made deterministic with the documented, off-by-default test
hook ``TRACEDROP_TEST_EXPORT_PAUSE`` (worker/batch/export.py): the worker sleeps at the named point of every file.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests import stack
from tests.batchfiles import records_by_file
from tests.conftest import make_trace, wait_for
from worker import keys
from worker.batch.export import PAUSE_ENV

pytestmark = pytest.mark.faults


@dataclass
class Own:
    workdir: Path
    redis: stack.RedisServer
    env: dict[str, str]
    api: stack.Api
    beat: stack.Service
    admin: stack.Admin

    def destination(self, s3: stack.SeaweedFS, **extra: Any) -> tuple[str, str, str, httpx.Client]:
        """A fresh workspace, ingest client, bucket and batch destination: (workspace, bucket, id, client)."""
        workspace = f"ws-{uuid.uuid4().hex[:10]}"
        self.admin.workspace(workspace)
        key = self.admin.ingest_key(workspace)
        bucket = f"b-{uuid.uuid4().hex[:12]}"
        s3.client().create_bucket(Bucket=bucket)
        body = stack.s3_body(s3, bucket, **{"mode": "batch", "every": 1, **extra})
        destination_id = self.admin.destination(workspace, body)["id"]
        client = httpx.Client(base_url=self.api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        return workspace, bucket, destination_id, client

    def exported(self, workspace: str, destination_id: str, count: int) -> None:
        def done() -> bool:
            status = self.admin.status(workspace, destination_id)
            return bool(status["delivered"] >= count and status["backlog"]["size"] == 0)

        wait_for(done, timeout=120, what=f"{count} records exported")


@pytest.fixture(scope="module")
def own(workdir: Path, s3: stack.SeaweedFS) -> Iterator[Own]:
    server = stack.redis_server(workdir)
    env = stack.tracedrop_env(server.url)
    api = stack.api(workdir, env)
    beat = stack.beat(workdir, env, name="beat-crash")
    admin = stack.Admin(api.url)
    found = Own(workdir, server, env, api, beat, admin)
    yield found
    admin.http.close()
    for service in (found.beat, api, server):
        service.stop()


def post(client: httpx.Client, traces: list[dict[str, Any]]) -> None:
    response = client.post("/v1/traces", json={"traces": traces})
    assert response.status_code == 202, response.text


def assert_exactly_once(s3: stack.SeaweedFS, bucket: str, count: int, limit: int,
                        note: str = "") -> dict[str, list[Any]]:
    files = records_by_file(s3.objects(bucket))
    seen = Counter(r["capture_id"] for records in files.values() for r in records)
    assert seen == Counter(f"gen-{i}" for i in range(count)), f"every record exactly once across files {note}"
    assert all(1 <= len(records) <= limit for records in files.values()), note
    return files


@pytest.mark.parametrize("stage, fmt", [("before_put", "cbor.zstd"), ("after_put", "cbor.zstd"),
                                        ("after_put", "parquet")])
def test_a_worker_killed_mid_export_loses_nothing_and_the_redo_is_the_same_file(
    own: Own, s3: stack.SeaweedFS, stage: str, fmt: str
) -> None:
    # Given a batch destination (4 records a file) and a worker that will stop in the middle of its first file
    workspace, bucket, destination_id, client = own.destination(s3, limit=4, format=fmt)
    paused = stack.worker(own.workdir, {**own.env, PAUSE_ENV: f"{stage}:600"}, name=f"paused-{stage}-{fmt}",
                          concurrency=1)
    store = redis.Redis(port=own.redis.port)
    try:
        post(client, [make_trace(i) for i in range(10)])

        # When the worker is killed there: after the manifest was written (and, for after_put, the file too)
        wait_for(lambda: b"export paused by test hook" in paused.log.read_bytes(), what="the export to pause")
        manifest = store.hgetall(keys.manifest(destination_id))
        key = manifest[b"key"].decode()
        ids = sorted(int(t) for t in manifest[b"ids"].split(b","))
        written = s3.objects(bucket)
        assert list(written) == ([key] if stage == "after_put" else [])
        paused.kill()
    finally:
        paused.kill()
        client.close()

    # Then another worker finishes the export: that same key, those same records, the rest once each
    healthy = stack.worker(own.workdir, own.env, name=f"healthy-{stage}-{fmt}")
    try:
        own.exported(workspace, destination_id, 10)
    finally:
        healthy.stop()
    files = assert_exactly_once(s3, bucket, 10, limit=4)
    assert sorted(r["id"] for r in files[key]) == ids
    if stage == "after_put":
        assert s3.objects(bucket)[key] == written[key], "the redone file is byte for byte the first one"
    assert store.exists(keys.manifest(destination_id)) == 0


def test_workers_and_beat_killed_at_random_lose_nothing_and_duplicate_nothing(own: Own, s3: stack.SeaweedFS) -> None:
    # Given a batch destination with small files and a steady stream of traces
    workspace, bucket, destination_id, client = own.destination(s3, limit=3)
    chance = random.Random()
    seed = chance.randrange(1 << 30)
    chance.seed(seed)
    try:
        for wave in range(4):
            post(client, [make_trace(wave * 15 + i) for i in range(15)])

            # When a worker runs a moment and is killed (and, once, the beat too)
            worker = stack.worker(own.workdir, own.env, name=f"chaos-{wave}")
            time.sleep(chance.uniform(0.2, 2.5))
            worker.kill()
            if wave == 1:
                own.beat.kill()
                own.beat = stack.beat(own.workdir, own.env, name="beat-crash-2")
    finally:
        client.close()

    # Then a last worker exports everything, each record in exactly one file
    final = stack.worker(own.workdir, own.env, name="chaos-final")
    try:
        own.exported(workspace, destination_id, 60)
    finally:
        final.stop()
    assert_exactly_once(s3, bucket, 60, limit=3, note=f"(random seed {seed})")
