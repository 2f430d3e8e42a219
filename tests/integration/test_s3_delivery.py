"""Per-trace S3 delivery through the bucket client (aiohttp + botocore's signer): throttling, the egress fence, and
what it sends on the wire.

A worker of the suite writes through a loopback fault proxy in front of the suite's SeaweedFS; the fence and wire
tests run the writer in this process against loopback servers of their own. Nothing here leaves this machine.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests import stack
from tests.conftest import LOOPBACK_SPELLINGS, wait_for
from tests.fault_proxy import SLOW_DOWN_SECONDS, FaultProxy
from tests.faults import all_keys, keys_of, stored, traces
from tests.rebinding import Rebinding
from worker.kinds.s3.bucket import EXPECT_CONTINUE_BYTES, Bucket
from worker.kinds.s3.config import S3Config, S3Destination
from worker.kinds.s3.writer import S3Writer
from worker.outbox import Claimed


def test_a_store_that_slows_down_holds_delivery_for_its_retry_after_then_gets_every_trace(
    running: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    with FaultProxy(s3.endpoint) as proxy:
        # Given a destination whose store throttles every request with 503 SlowDown and a Retry-After
        destination = admin.destination(workspace, {**stack.s3_body(s3, bucket), "endpoint": proxy.endpoint})["id"]
        proxy.set("slow")

        # When traces arrive
        assert ingest.post("/v1/traces", json={"traces": traces(30)}).status_code == 202

        # Then the destination shows the store's answer, retrying (not parked) no sooner than Retry-After said
        failing = wait_for(lambda: (s if (s := admin.status(workspace, destination))["last_error"] else None),
                           what="the throttling answer in the status")
        assert failing["state"] == "failing" and failing["parked"] is False
        assert failing["last_error"]["code"] == "store_unavailable"
        assert "SlowDown" in failing["last_error"]["message"]
        assert failing["last_error"]["retry_in_ms"] >= SLOW_DOWN_SECONDS * 1000
        assert s3.keys(bucket) == [] and proxy.slowed >= 1

        # And once the store takes writes again, every trace is there once and the destination is healthy
        proxy.set("pass")
        assert all_keys(s3, bucket, keys_of(range(30)), timeout=90) == keys_of(range(30))
        healed = wait_for(lambda: (s if (s := admin.status(workspace, destination))["state"] == "healthy" else None),
                          what="healthy again")
        assert healed["delivered"] == 30 and healed["dead_lettered"] == 0 and healed["last_error"] is None


@pytest.fixture()
def silent_port() -> Iterator[socket.socket]:
    """A loopback listener nothing should ever connect to."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.3)
    yield sock
    sock.close()


def nobody_connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
    except TimeoutError:
        return True
    return False


def destination(endpoint: str, **fields: Any) -> S3Destination:
    return S3Destination(id="d1", workspace="w", created_at="2024-01-15T10:00:00Z", name="x", bucket_name="bucket",
                         region="us-east-1", access_key_id="a", access_secret="b", endpoint=endpoint, **fields)


CLAIMED = [Claimed(trace_id=i, body=stored(trace)) for i, trace in enumerate(traces(3))]


def test_delivery_refuses_a_name_that_rebinds_to_loopback_when_the_connection_is_opened(
    monkeypatch: pytest.MonkeyPatch, silent_port: socket.socket
) -> None:
    # Given a store name that resolves to a public address when the client is built and to loopback afterwards
    dns = Rebinding(monkeypatch, "store.rebind.example")
    port = silent_port.getsockname()[1]

    # When a worker without private endpoints delivers three traces to it
    verdict = S3Writer(allow_private=False).deliver(destination(f"https://store.rebind.example:{port}"), CLAIMED)

    # Then nothing is written, every trace is owed again, the fence's refusal is the reason, and nothing connected
    assert verdict.delivered == [] and verdict.rejected == [] and sorted(verdict.retry) == [0, 1, 2]
    error = verdict.destination_error
    assert error is not None and error.code == "endpoint_forbidden" and "127.0.0.1" in error.message
    assert dns.attempted == [] and nobody_connected(silent_port)


@pytest.mark.parametrize("endpoint", LOOPBACK_SPELLINGS[:6])
def test_delivery_to_a_loopback_endpoint_is_refused_without_private_endpoints(endpoint: str) -> None:
    verdict = S3Writer(allow_private=False).deliver(destination(endpoint), CLAIMED)

    assert verdict.delivered == [] and sorted(verdict.retry) == [0, 1, 2]
    assert verdict.destination_error is not None and verdict.destination_error.code == "endpoint_forbidden"
    assert "TRACEDROP_ALLOW_PRIVATE_ENDPOINTS" in verdict.destination_error.message


@pytest.fixture()
def recording_store() -> Iterator[tuple[str, dict[str, str | None]]]:
    """A loopback server that takes every PUT (200 with an ETag) and records each path's Expect header."""
    seen: dict[str, str | None] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_PUT(self) -> None:
            seen[self.path] = self.headers.get("Expect")
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("ETag", '"e"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_small_writes_skip_expect_continue_and_large_ones_wait_for_it(
    recording_store: tuple[str, dict[str, str | None]]
) -> None:
    endpoint, seen = recording_store
    bucket = Bucket(S3Config(name="x", bucket_name="bucket", region="us-east-1", access_key_id="a",
                             access_secret="b", endpoint=endpoint), allow_private=True)

    large = b"x" * (EXPECT_CONTINUE_BYTES + 1)
    outcomes = bucket.put_all([lambda: ("small", b"{}"), lambda: ("large", large)])

    assert outcomes == [None, None]
    assert seen == {"/bucket/small": None, "/bucket/large": "100-continue"}
