"""schemathesis against the API's own OpenAPI document: no input, however odd, gets a 5xx.

The app runs in-process against the suite's real redis-server, with private endpoints refused (the production
default), so the connection test refuses loopback and private addresses itself. For the duration, two more
fences keep every packet on this machine whatever the code does: name resolution answers nothing but loopback
names, and a socket may only connect to a loopback address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from redis import Redis

from tests import stack
from worker import keys, store
from worker.kinds.s3.config import S3Destination
from worker.settings import get_settings
from worker.ssrf import unmapped

ADMIN = {"Authorization": f"Bearer {stack.ADMIN_TOKEN}"}
WORKSPACE = "fuzz"
EXAMPLES_PER_OPERATION = 40


class Fence:
    """Refuses name lookups and connections that would leave the machine, and counts them."""

    def __init__(self) -> None:
        self.refused: Counter[str] = Counter()
        self._getaddrinfo = socket.getaddrinfo
        self._connect = socket.socket.connect

    def getaddrinfo(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "::1", "localhost"):
            self.refused["lookup"] += 1
            raise socket.gaierror(socket.EAI_NONAME, "resolution refused in the fuzz test")
        return self._getaddrinfo(host, *args, **kwargs)

    def install(self, patch: pytest.MonkeyPatch) -> None:
        fence = self

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address[0]):
                fence.refused["connect"] += 1
                raise ConnectionRefusedError(f"connection to {address[0]} refused in the fuzz test")
            fence._connect(sock, address)

        patch.setattr(socket, "getaddrinfo", self.getaddrinfo)
        patch.setattr(socket.socket, "connect", connect)


def loopback(host: Any) -> bool:
    return unmapped(ipaddress.ip_address(str(host).split("%")[0])).is_loopback


class InProcess:
    """The app called through httpx's ASGI transport on one event loop, as a synchronous client."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tracedrop.test")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, path, **kwargs))

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def fence(redis_server: stack.RedisServer) -> Iterator[Fence]:
    patch = pytest.MonkeyPatch()
    for name, value in stack.tracedrop_env(redis_server.url, TRACEDROP_ALLOW_PRIVATE_ENDPOINTS="false").items():
        if name.startswith("TRACEDROP_"):
            patch.setenv(name, value)
    fenced = Fence()
    fenced.install(patch)
    get_settings.cache_clear()
    yield fenced
    patch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def client(fence: Fence, redis_server: stack.RedisServer) -> Iterator[InProcess]:
    from api.lockout import Lockout
    from api.main import create_app
    from worker import celery_app
    from worker.celery_app import configure
    from worker.outbox import Outbox

    app = create_app()
    configure()
    redis = Redis.from_url(redis_server.url)
    app.state.redis, app.state.outbox, app.state.announce = redis, Outbox(redis), celery_app.announce
    app.state.lockout = Lockout(redis)
    in_process = InProcess(app)
    yield in_process
    in_process.close()
    redis.close()


@pytest.fixture(scope="module")
def ingest_key(client: InProcess) -> str:
    assert client.request("PUT", f"/v1/workspaces/{WORKSPACE}", json={"broadcast_enabled": True},
                          headers=ADMIN).status_code in (200, 201)
    key = client.request("POST", f"/v1/workspaces/{WORKSPACE}/ingest-keys", json={"name": "fuzz"}, headers=ADMIN)
    return str(key.json()["key"])


@pytest.fixture(scope="module")
def destination(redis_server: stack.RedisServer) -> Iterator[Any]:
    """A destination of the fuzz workspace, saved directly (no store can pass the test here), kept in place."""
    redis = Redis.from_url(redis_server.url)
    saved = S3Destination(name="fuzz", bucket_name="fuzz-bucket", region="us-east-1", access_key_id="a",
                        access_secret="b", endpoint="https://store.invalid", id=store.new_destination_id(),
                        workspace=WORKSPACE, created_at=store.now_iso())

    def keep() -> None:
        if redis.get(keys.destination(saved.id)) is None:
            store.save_destination(redis, destination=saved, action="destination.created",
                                   secret_key=get_settings().secret_key.get_secret_value())

    keep()
    yield saved.id, keep
    redis.close()


def test_no_generated_request_gets_a_5xx(client: InProcess, ingest_key: str, destination: Any,
                                         fence: Fence) -> None:
    destination_id, keep_destination = destination
    schema = schemathesis.openapi.from_dict(client.request("GET", "/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    seen: Counter[tuple[str, int]] = Counter()

    for operation in operations:

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            count = seen.total()
            parameters = case.path_parameters or {}
            if "ws" in parameters and count % 3:
                parameters["ws"] = WORKSPACE  # mostly an existing workspace, so bodies get validated
            if "destination_id" in parameters and count % 2:
                parameters["destination_id"] = destination_id
            token = f"Bearer {ingest_key}" if case.operation.path == "/v1/traces" else ADMIN["Authorization"]
            kwargs: dict[str, Any] = {"headers": {**(case.headers or {}), "Authorization": token},
                                      "params": case.query}
            if case.body is not None and type(case.body).__name__ != "NotSet":
                kwargs["json"] = case.body
            response = client.request(case.method, case.formatted_path, **kwargs)
            seen[f"{case.method.upper()} {case.operation.path}", response.status_code] += 1
            assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text)
            keep_destination()

        run()

    statuses = Counter[int]()
    for (_, status), n in seen.items():
        statuses[status] += n
    tested = sum(n for (label, status), n in seen.items()
                 if label.startswith("POST /v1/workspaces/{ws}/destinations") and "dead" not in label
                 and status in (400, 429))
    print(f"\nschemathesis: {statuses.total()} examples over {len(operations)} operations, 5xx: "
          f"{sum(n for status, n in statuses.items() if status >= 500)}, statuses {dict(sorted(statuses.items()))}, "
          f"connection tests reached: {tested}, off-machine attempts fenced: {dict(fence.refused)}")
    for (label, status), n in sorted(seen.items()):
        print(f"  {label} -> {status}: {n}")
    assert statuses.total() >= 300
    assert tested > 0, "some generated destinations reached the connection test"
