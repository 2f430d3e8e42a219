"""The suite's own services: a redis-server and a SeaweedFS on free loopback ports, the api, a worker, beat.

Nothing is faked and nothing is skipped: a service that cannot start fails the run with its reason.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests import stack

WRITER_ONLY_BUCKET = "writer-only"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def redis_server(workdir: Path) -> Iterator[stack.RedisServer]:
    server = stack.redis_server(workdir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3(workdir: Path) -> Iterator[stack.SeaweedFS]:
    identities = {stack.WRITER_KEY: (uuid.uuid4().hex, [f"Write:{WRITER_ONLY_BUCKET}"])}
    server = stack.seaweedfs(workdir, identities=identities)
    server.client().create_bucket(Bucket=WRITER_ONLY_BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def env(redis_server: stack.RedisServer) -> dict[str, str]:
    return stack.tracedrop_env(redis_server.url)


@pytest.fixture(scope="session")
def api_server(workdir: Path, env: dict[str, str]) -> Iterator[stack.Api]:
    server = stack.api(workdir, env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def worker_proc(workdir: Path, env: dict[str, str]) -> Iterator[stack.Service]:
    service = stack.worker(workdir, env, name="suite")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def beat_proc(workdir: Path, env: dict[str, str]) -> Iterator[stack.Service]:
    service = stack.beat(workdir, env)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def running(
    api_server: stack.Api, worker_proc: stack.Service, beat_proc: stack.Service, s3: stack.SeaweedFS
) -> stack.Api:
    """The whole stack up: api, a worker, beat and the store."""
    return api_server


@pytest.fixture(scope="session")
def public_api(workdir: Path, redis_server: stack.RedisServer) -> Iterator[stack.Api]:
    """An api with the production default: private endpoints not allowed."""
    env = stack.tracedrop_env(redis_server.url, TRACEDROP_ALLOW_PRIVATE_ENDPOINTS="false")
    server = stack.api(workdir, env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def proxied_api(workdir: Path, redis_server: stack.RedisServer) -> Iterator[stack.Api]:
    """An api behind a proxy on loopback (TRACEDROP_TRUSTED_PROXIES=127.0.0.1): it takes the client's address and
    scheme from X-Forwarded-For and X-Forwarded-Proto."""
    server = stack.api(workdir, stack.tracedrop_env(redis_server.url, TRACEDROP_TRUSTED_PROXIES="127.0.0.1"))
    yield server
    server.stop()


def forwarded_for() -> dict[str, str]:
    """The headers of a request a trusted proxy forwards from a client of its own (a random 10.x address)."""
    return {"X-Forwarded-For": str(ipaddress.IPv4Address(0x0A000000 + secrets.randbelow(1 << 24)))}


OWN_DATABASE = 6
"""The Redis database of the apis a test starts for itself (own_api), emptied for each test."""


@pytest.fixture()
def own_api(workdir: Path, redis_server: stack.RedisServer) -> Iterator[Callable[..., stack.Api]]:
    """Starts apis on a Redis database of the test's own, emptied first, so that what one test locks out reaches no
    other: ``own_api(TRACEDROP_X="...")`` (the api's settings beyond the suite's). Each is stopped after the test."""
    url = f"{redis_server.url.rsplit('/', 1)[0]}/{OWN_DATABASE}"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    started: list[stack.Api] = []

    def start(**settings: str) -> stack.Api:
        server = stack.api(workdir, stack.tracedrop_env(url, **settings))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture()
def public_admin(public_api: stack.Api, workspace: str) -> Iterator[stack.Admin]:
    client = stack.Admin(public_api.url)
    yield client
    client.http.close()


LOOPBACK_SPELLINGS = ["https://127.0.0.1", "https://127.1", "https://2130706433", "https://0x7f000001",
                      "https://0177.0.0.1", "https://0x7f.1", "https://[::1]", "https://[::ffff:127.0.0.1]",
                      "https://[::ffff:7f00:1]", "https://[64:ff9b::7f00:1]", "https://localhost",
                      "https://s3.localhost", "https://127.0.0.1.:9000"]
"""Loopback in the spellings an attacker would try: every one is refused without private endpoints."""


@pytest.fixture()
def admin(api_server: stack.Api) -> Iterator[stack.Admin]:
    client = stack.Admin(api_server.url)
    yield client
    client.http.close()


@pytest.fixture()
def workspace(admin: stack.Admin) -> str:
    name = f"ws-{uuid.uuid4().hex[:10]}"
    admin.workspace(name)
    return name


@pytest.fixture()
def ingest(api_server: stack.Api, admin: stack.Admin, workspace: str) -> Iterator[httpx.Client]:
    """An HTTP client holding an ingest key of ``workspace``."""
    key = admin.ingest_key(workspace)
    client = httpx.Client(base_url=api_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    yield client
    client.close()


@pytest.fixture()
def bucket(s3: stack.SeaweedFS) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    return name


def wait_for(check: Callable[[], Any], *, timeout: float = 60, what: str = "condition") -> Any:
    """Poll until ``check()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def wait_for_keys(s3: stack.SeaweedFS, bucket: str, count: int, *, prefix: str = "", timeout: float = 60) -> list[str]:
    """The bucket's keys once there are at least ``count``."""
    return list(wait_for(lambda: (k if len(k := s3.keys(bucket, prefix)) >= count else None),
                         timeout=timeout, what=f"{count} objects in {bucket}/{prefix}"))


def make_trace(index: int = 0, **fields: Any) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "id": f"gen-{index}",
        "timestamp": "2024-01-15T10:00:00Z",
        "model": "openai/gpt-4o",
    }
    trace.update(fields)
    return trace
