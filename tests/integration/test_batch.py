"""Batch mode end to end: traces posted to the API become Aperture-style files in a real SeaweedFS bucket.

Files are decoded with cbor2, zstandard, gzip and json directly (tests/batchfiles.py), as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests import stack
from tests.batchfiles import KEY, decode, records_by_file
from tests.conftest import make_trace, wait_for
from tests.integration.test_main_path import EXPECTED_DOCUMENT, FULL_TRACE

pytestmark = pytest.mark.usefixtures("running")

TRACEDROP = str(Path(sys.executable).parent / "tracedrop")


def batch_body(s3: stack.SeaweedFS, bucket: str, **extra: Any) -> dict[str, Any]:
    return stack.s3_body(s3, bucket, **{"mode": "batch", "every": 1, **extra})


def post(client: httpx.Client, traces: list[dict[str, Any]]) -> None:
    response = client.post("/v1/traces", json={"traces": traces})
    assert response.status_code == 202, response.text


def wait_exported(admin: stack.Admin, workspace: str, destination_id: str, count: int,
                  timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        status = admin.status(workspace, destination_id)
        return status if status["delivered"] >= count and status["backlog"]["size"] == 0 else None

    return dict(wait_for(done, timeout=timeout, what=f"{count} records exported"))


def utc_day() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def test_every_record_lands_exactly_once_in_files_of_at_most_limit(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    # Given a batch destination exporting every second, at most 7 records a file
    destination = admin.destination(workspace, batch_body(s3, bucket, prefix="exports", limit=7))
    day_before = utc_day()

    # When the gateway posts 40 traces in four requests
    for wave in range(4):
        post(ingest, [make_trace(wave * 10 + i, session_id=f"s{i}") for i in range(10)])

    # Then every record is in exactly one file, no file holds more than 7, keys are those docs/s3.md gives
    status = wait_exported(admin, workspace, destination["id"], 40)
    files = records_by_file(s3.objects(bucket))
    days = {day_before, utc_day()}
    for key, records in files.items():
        match = KEY.match(key)
        assert match and match["fmt"] == "cbor.zstd", key
        assert match["path"][len("exports/"):-1] in days, "dates are the export time, not the traces' 2024"
        assert 1 <= len(records) <= 7
    everything = [record for records in files.values() for record in records]
    assert sorted(r["capture_id"] for r in everything) == sorted(f"gen-{i}" for i in range(40))
    assert len({r["id"] for r in everything}) == 40
    assert all(isinstance(r["id"], int) and r["ver"] == 2 for r in everything)
    assert status["state"] == "healthy" and status["delivered"] == 40
    assert status["backlog"]["oldest_age_seconds"] is None
    assert len(files) >= 6


def test_a_record_carries_aperture_schema_version_2(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    destination = admin.destination(workspace, batch_body(s3, bucket))

    post(ingest, [FULL_TRACE])

    wait_exported(admin, workspace, destination["id"], 1)
    [(key, [record])] = records_by_file(s3.objects(bucket)).items()
    assert KEY.match(key) and key.startswith(f"{utc_day()}/ts-tracedrop-export-")
    assert isinstance(record.pop("id"), int)
    assert record.pop("timestamp") == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    assert record == {
        "ver": 2,
        "identity": {"login_name": "alice@example.com", "node_id": "nXYZ", "tags": ["tag:prod"]},
        "model": "openai/gpt-4o",
        "api_type": "oai_completions",
        "usage": {"input": 12, "output": 40, "cached": 0, "reasoning": 0},
        "estimated_cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
        "duration_ms": 1834,
        "capture_id": "gen-1705312800-abc123",
        "session_id": "sess-9",
        "path": "/v1/chat/completions",
        "status_code": 200,
        "capture": {"request": {"headers": {"content-type": "application/json"}, "body": FULL_TRACE["request"]},
                    "response": {"headers": {}, "body": FULL_TRACE["response"]}},
        "tracedrop": {"provider": "OpenAI", "finish_reason": "stop", "user": "user-42",
                      "api_key_name": "prod backend", "time_to_first_token_ms": 312,
                      "trace": FULL_TRACE["trace"], "total_tokens": 52, "cache_write_tokens": 0},
    }


def test_jsonl_gz_in_privacy_mode_keeps_no_bodies(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    destination = admin.destination(workspace, batch_body(s3, bucket, format="jsonl.gz", privacy_mode=True))

    post(ingest, [{**FULL_TRACE, "id": f"gen-{i}"} for i in range(5)])

    wait_exported(admin, workspace, destination["id"], 5)
    objects = s3.objects(bucket)
    [(key, data)] = objects.items()
    assert KEY.match(key) and key.endswith(".jsonl.gz")
    records = decode(key, data)
    assert sorted(r["capture_id"] for r in records) == [f"gen-{i}" for i in range(5)]
    for record in records:
        assert record["capture"] == {"request": {"headers": {"content-type": "application/json"}},
                                     "response": {"headers": {}}}
        assert record["usage"]["output"] == 40 and record["timestamp"] == "2024-01-15T10:00:00.000Z"
    assert b"hello" not in orjson.dumps(records) and b"sk-secret" not in orjson.dumps(records)


def test_status_shows_the_backlog_until_the_cycle_exports_it(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    # Given a batch destination exporting hourly, owed three records
    destination = admin.destination(workspace, batch_body(s3, bucket, every=3600))
    post(ingest, [make_trace(i) for i in range(3)])
    time.sleep(2.5)

    # Then its status shows them waiting, and nothing is written before the cycle
    status = admin.status(workspace, destination["id"])
    assert status["backlog"]["size"] == 3 and status["backlog"]["oldest_age_seconds"] >= 2
    assert status["state"] == "healthy" and status["delivered"] == 0
    assert s3.keys(bucket) == []

    # When the cycle is shortened, the next one exports them
    response = admin.http.patch(f"/v1/workspaces/{workspace}/destinations/{destination['id']}", json={"every": 1})
    assert response.status_code == 200, response.text
    wait_exported(admin, workspace, destination["id"], 3)
    files = records_by_file(s3.objects(bucket))
    assert sum(len(r) for r in files.values()) == 3
    assert admin.status(workspace, destination["id"])["files"] == len(files)


def test_api_key_name_is_refused_in_batch_templates(admin: stack.Admin, workspace: str, s3: stack.SeaweedFS,
                                                    bucket: str) -> None:
    body = batch_body(s3, bucket, path_template="{prefix}/{apiKeyName}")

    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=body)

    assert response.status_code == 422
    assert "apiKeyName" in response.json()["error"]["message"]


def test_a_refused_export_parks_the_destination_and_resumes_without_loss(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    # Given a batch destination whose bucket disappears
    destination = admin.destination(workspace, batch_body(s3, bucket))
    s3.client().delete_bucket(Bucket=bucket)

    # When records are owed, the export fails: failing, parked, with the reason and the backlog
    post(ingest, [make_trace(i) for i in range(4)])

    def parked() -> dict[str, Any] | None:
        status = admin.status(workspace, destination["id"])
        return status if status["parked"] else None

    status = wait_for(parked, what="destination parked")
    assert status["state"] == "failing"
    assert status["last_error"]["code"] == "no_such_bucket" and status["last_error"]["parked"] is True
    assert status["backlog"]["size"] == 4 and status["delivered"] == 0

    # When the bucket is back, a probe resumes the destination and the same records are exported once
    s3.client().create_bucket(Bucket=bucket)
    status = wait_exported(admin, workspace, destination["id"], 4, timeout=90)
    assert status["state"] == "healthy" and status["last_error"] is None and not status["parked"]
    records = [r for rs in records_by_file(s3.objects(bucket)).values() for r in rs]
    assert sorted(r["capture_id"] for r in records) == [f"gen-{i}" for i in range(4)]


def test_two_beats_never_write_one_batch_twice(
    workdir: Path, env: dict[str, str], admin: stack.Admin, workspace: str, ingest: httpx.Client,
    s3: stack.SeaweedFS, bucket: str
) -> None:
    # Given a second beat next to the suite's own
    second = stack.beat(workdir, env, name="beat-second")
    try:
        destination = admin.destination(workspace, batch_body(s3, bucket, limit=5))

        # When traces keep arriving over several cycles
        for wave in range(8):
            post(ingest, [make_trace(wave * 6 + i) for i in range(6)])
            time.sleep(0.4)

        # Then every record is in exactly one file
        wait_exported(admin, workspace, destination["id"], 48)
    finally:
        second.stop()
    files = records_by_file(s3.objects(bucket))
    counts = Counter(r["capture_id"] for records in files.values() for r in records)
    assert counts == Counter(f"gen-{i}" for i in range(48))
    assert all(len(records) <= 5 for records in files.values())


def read(source: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """``tracedrop read`` as a user runs it; no credential source but the ones given (never instance metadata)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRACEDROP_"))}
    clean.update({"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
                  "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    return subprocess.run([TRACEDROP, "read", source, *extra], capture_output=True, timeout=60,
                          env={**clean, **(env or {})}, check=False)


def test_tracedrop_read_prints_every_format_and_per_trace_objects(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str, tmp_path: Path
) -> None:
    # Given the same traces exported as cbor.zstd, as jsonl.gz, as parquet and as per-trace objects
    buckets = {"cbor.zstd": f"{bucket}-cbor", "jsonl.gz": f"{bucket}-jsonl", "parquet": f"{bucket}-parquet"}
    ids = []
    for fmt, name in buckets.items():
        s3.client().create_bucket(Bucket=name)
        ids.append(admin.destination(workspace, batch_body(s3, name, format=fmt))["id"])
    admin.destination(workspace, stack.s3_body(s3, bucket))
    post(ingest, [FULL_TRACE, make_trace(1), make_trace(2)])
    for destination_id in ids:
        wait_exported(admin, workspace, destination_id, 3)
    printed = {}
    for fmt, name in buckets.items():
        [(key, data)] = s3.objects(name).items()
        local = tmp_path / key.rsplit("/", 1)[1]
        local.write_bytes(data)

        # When each file is read from disk
        result = read(str(local))

        # Then it prints one JSON object per record
        assert result.returncode == 0, result.stderr
        printed[fmt] = result.stdout.splitlines()
        assert [orjson.loads(line)["capture_id"] for line in printed[fmt]] == ["gen-1705312800-abc123", "gen-1",
                                                                               "gen-2"]
    assert printed["cbor.zstd"] == printed["jsonl.gz"]
    row = orjson.loads(printed["parquet"][0])
    assert (row["timestamp"], row["input_tokens"], row["request"]) == ("2024-01-15T10:00:00.000Z", 12,
                                                                       FULL_TRACE["request"])
    assert orjson.loads(printed["cbor.zstd"][0])["timestamp"] == "2024-01-15T10:00:00.000Z"

    # And a per-trace object prints as one line
    per_trace = "2024-01-15/gen-1705312800-abc123-1705312800.json"
    wait_for(lambda: per_trace in s3.keys(bucket), what="the per-trace object")
    local = tmp_path / "object.json"
    local.write_bytes(s3.objects(bucket)[per_trace])
    result = read(str(local))
    assert result.returncode == 0 and result.stdout.splitlines() == [orjson.dumps(EXPECTED_DOCUMENT)]


def test_tracedrop_read_takes_s3_urls_with_credentials_from_the_environment(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    destination = admin.destination(workspace, batch_body(s3, bucket, prefix="x"))
    post(ingest, [make_trace(i) for i in range(3)])
    wait_exported(admin, workspace, destination["id"], 3)
    [key] = s3.keys(bucket, "x/")
    credentials = {"AWS_ACCESS_KEY_ID": stack.ADMIN_KEY, "AWS_SECRET_ACCESS_KEY": s3.secret()}

    result = read(f"s3://{bucket}/{key}", "--endpoint", s3.endpoint, env=credentials)

    assert result.returncode == 0, result.stderr
    assert [orjson.loads(line)["capture_id"] for line in result.stdout.splitlines()] == ["gen-0", "gen-1", "gen-2"]
    missing = read(f"s3://{bucket}/x/nope.cbor.zstd", "--endpoint", s3.endpoint, env=credentials)
    assert missing.returncode == 1 and b"NoSuchKey" in missing.stderr
    anonymous = read(f"s3://{bucket}/{key}", "--endpoint", s3.endpoint)
    assert anonymous.returncode == 1 and b"AWS_ACCESS_KEY_ID" in anonymous.stderr
