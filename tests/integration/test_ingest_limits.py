"""Limits, an unreachable Redis and bad settings: each refused with a clear answer, nothing half-stored."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace
from worker.settings import Settings


@pytest.fixture(scope="module")
def small_api(workdir: Path, redis_server: stack.RedisServer) -> Iterator[stack.Api]:
    env = stack.tracedrop_env(redis_server.url, TRACEDROP_MAX_TRACE_BYTES="2000",
                              TRACEDROP_MAX_TRACES_PER_REQUEST="5", TRACEDROP_MAX_REQUEST_BYTES="20000")
    server = stack.api(workdir, env)
    yield server
    server.stop()


@pytest.fixture()
def small_ingest(small_api: stack.Api, admin: stack.Admin, workspace: str) -> Iterator[httpx.Client]:
    key = admin.ingest_key(workspace)
    with httpx.Client(base_url=small_api.url, headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def test_too_many_traces_is_413(small_ingest: httpx.Client) -> None:
    response = small_ingest.post("/v1/traces", json={"traces": [make_trace(i) for i in range(6)]})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_traces"


def test_a_trace_over_the_byte_limit_is_413_naming_its_index(small_ingest: httpx.Client) -> None:
    traces = [make_trace(0), make_trace(1, request={"messages": [{"role": "user", "content": "x" * 3000}]})]
    response = small_ingest.post("/v1/traces", json={"traces": traces})
    assert response.status_code == 413
    assert response.json()["error"]["index"] == 1
    assert "trace 1" in response.json()["error"]["message"]


def test_a_body_over_the_request_limit_is_413(small_ingest: httpx.Client) -> None:
    body = orjson.dumps({"traces": [make_trace(0)], "padding": "x" * 30000})
    response = small_ingest.post("/v1/traces", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_a_body_that_is_not_json_is_422(small_ingest: httpx.Client) -> None:
    response = small_ingest.post("/v1/traces", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_json"


def test_ingest_takes_post_and_put_only_and_the_api_document_says_so(small_ingest: httpx.Client) -> None:
    refused = small_ingest.get("/v1/traces")
    assert refused.status_code == 405 and refused.headers["allow"] == "POST, PUT"
    assert refused.json()["error"]["code"] == "method_not_allowed"
    assert small_ingest.put("/v1/traces", json=make_trace(0)).status_code == 202
    assert small_ingest.post("/v1/traces/", json=make_trace(1)).status_code == 202  # as a trailing slash sends it
    operations = small_ingest.get("/openapi.json").json()["paths"]["/v1/traces"]
    assert sorted(operations) == ["post", "put"]
    body = operations["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "model" in body["oneOf"][0]["properties"] and "traces" in body["oneOf"][1]["properties"]


def test_unreachable_redis_is_503_and_readyz_says_so(workdir: Path) -> None:
    env = stack.tracedrop_env(f"redis://127.0.0.1:{stack.free_port()}/0")
    server = stack.api(workdir, env)
    try:
        response = httpx.post(f"{server.url}/v1/traces", json=make_trace(), headers={"Authorization": "Bearer td_x"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "store_unavailable"
        assert httpx.get(f"{server.url}/readyz").status_code == 503
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize("command", ["api", "worker", "beat"])
@pytest.mark.parametrize("missing", ["TRACEDROP_ADMIN_TOKEN", "TRACEDROP_SECRET_KEY"])
def test_a_missing_secret_setting_stops_the_process_with_one_line(command: str, missing: str) -> None:
    env = stack.tracedrop_env("redis://127.0.0.1:1/0")
    del env[missing]
    result = subprocess.run([stack._binary("tracedrop"), command], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"tracedrop: {missing} is required"]


def test_every_missing_or_weak_setting_is_named_at_once() -> None:
    env = stack.tracedrop_env("redis://127.0.0.1:1/0", TRACEDROP_SECRET_KEY="short")
    del env["TRACEDROP_ADMIN_TOKEN"]
    result = subprocess.run([stack._binary("tracedrop"), "api"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tracedrop: TRACEDROP_ADMIN_TOKEN is required",
        "tracedrop: TRACEDROP_SECRET_KEY must be at least 32 characters, not a repeated few; make one with: "
        "tracedrop keygen (every api and worker needs the same value)"]
    made = subprocess.run([stack._binary("tracedrop"), "keygen"], capture_output=True, text=True, timeout=60)
    env.update(TRACEDROP_SECRET_KEY=made.stdout.strip(), TRACEDROP_ADMIN_TOKEN=made.stdout.strip()[::-1])
    loaded = subprocess.run([sys.executable, "-c", "from worker.settings import load_settings_or_exit as load; load()"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert (loaded.returncode, loaded.stderr) == (0, "")
    del env["TRACEDROP_REDIS_URL"]  # the default is said, never taken silently
    loaded = subprocess.run([sys.executable, "-c", "from worker.settings import load_settings_or_exit as load; load()"],
                            env=env, capture_output=True, text=True, timeout=60)
    default = Settings.model_fields["redis_url"].default  # only read, never connected to
    assert loaded.stderr == f"tracedrop: TRACEDROP_REDIS_URL is not set: using {default} (the default)\n"


def test_an_invalid_setting_is_named() -> None:
    env = stack.tracedrop_env("redis://127.0.0.1:1/0", TRACEDROP_MAX_TRACE_BYTES="lots")
    result = subprocess.run([stack._binary("tracedrop"), "api"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("tracedrop: TRACEDROP_MAX_TRACE_BYTES ")
