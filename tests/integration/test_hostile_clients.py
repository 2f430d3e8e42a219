"""Hostile requests against a real api process on loopback: each is answered quickly and cheaply, and the api
keeps answering everyone else meanwhile.

The bodies: many gzip members, and bodies whose parse would build millions of elements (issue 27, findings 2 and
4). The connections: headers dripped a byte a second, headers of 16 MB, unfinished large headers, a stalled body,
more connections than the cap (finding 5). The only times asserted are generous upper bounds on liveness.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import psutil
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for

MAX_CONNECTIONS = 6
HEADER_TIMEOUT = 2
BODY_IDLE_TIMEOUT = 2
KEEP_ALIVE_TIMEOUT = 1
MB = 1024 * 1024


@pytest.fixture(scope="module")
def guarded_api(workdir: Path, redis_server: stack.RedisServer) -> Iterator[stack.Api]:
    env = stack.tracedrop_env(redis_server.url, TRACEDROP_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
                              TRACEDROP_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
                              TRACEDROP_BODY_IDLE_TIMEOUT=str(BODY_IDLE_TIMEOUT),
                              TRACEDROP_KEEP_ALIVE_TIMEOUT=str(KEEP_ALIVE_TIMEOUT))
    server = stack.api(workdir, env)
    yield server
    server.stop()


@pytest.fixture()
def key(admin: stack.Admin, workspace: str) -> str:
    """An ingest key, made through the suite's api: both apis share the one Redis."""
    return admin.ingest_key(workspace)


def rss(api: stack.Api) -> int:
    assert api.proc is not None
    return int(psutil.Process(api.proc.pid).memory_info().rss)


class Watch:
    """While a hostile request runs: the api's peak memory, and how long /healthz takes to answer (1 s at most)."""

    def __init__(self, api: stack.Api) -> None:
        self.api, self.before, self.peak, self.probes = api, rss(api), rss(api), 0

    def during(self, hostile: Callable[[], object]) -> object:
        outcome: list[object] = []

        def run() -> None:
            try:
                outcome.append(hostile())
            except Exception as exc:  # the api was stopped under it: the probes say why
                outcome.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        with httpx.Client(base_url=self.api.url, timeout=1.0) as probe:
            while thread.is_alive() or self.probes < 3:
                self.peak = max(self.peak, rss(self.api))
                assert probe.get("/healthz").status_code == 200  # a timeout here: the api froze
                self.probes += 1
                time.sleep(0.02)
        thread.join(timeout=60)
        self.peak = max(self.peak, rss(self.api))
        assert outcome, "the hostile request did not finish"
        return outcome[0]

    @property
    def growth(self) -> int:
        return self.peak - self.before


def post(api: stack.Api, key: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "content-type": content_type, "content-encoding": "gzip"}
    return httpx.post(f"{api.url}/v1/traces", content=gzip.compress(body), headers=headers, timeout=120)


def wire(tag: int, payload: bytes) -> bytes:
    """A protobuf length-delimited field."""
    length, prefix = len(payload), bytearray()
    while length >= 0x80:
        prefix.append(length & 0x7F | 0x80)
        length >>= 7
    return bytes([tag, *prefix, length]) + payload


FOUR_MILLION, TWO_MILLION = 4_000_000, 2_000_000
HOSTILE_BODIES: dict[str, tuple[Callable[[], bytes], str, str]] = {
    # 8 MB of JSON, 7.8 KB gzipped: four million zeros where traces go
    "zeros as traces": (lambda: b'{"traces":[' + b"0," * (FOUR_MILLION - 1) + b"0]}", "application/json",
                        "too_many_traces"),
    "zeros as a list": (lambda: b"[" + b"0," * (FOUR_MILLION - 1) + b"0]", "application/json", "too_many_traces"),
    "empty objects in one trace": (lambda: b'{"traces":[{"id":"a","request":[' + b"{}," * TWO_MILLION + b"{}]}]}",
                                   "application/json", "too_many_elements"),
    "empty objects as lines": (lambda: b"{}\n" * TWO_MILLION, "application/json", "too_many_traces"),
    # OTLP protobuf: ExportTraceServiceRequest.resource_spans[0].scope_spans[0] full of empty spans
    "empty spans": (lambda: wire(0x0A, wire(0x12, b"\x12\x00" * TWO_MILLION)), "application/x-protobuf",
                    "too_many_spans"),
    # ... and one span full of empty attributes
    "empty attributes": (lambda: wire(0x0A, wire(0x12, wire(0x12, b"\x4a\x00" * TWO_MILLION))),
                         "application/x-protobuf", "too_many_elements"),
}


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_a_body_that_would_build_millions_of_elements_is_413_without_building_them(
        guarded_api: stack.Api, key: str, name: str) -> None:
    # Given a body of a few KB gzipped that inflates to millions of tiny elements
    build, content_type, code = HOSTILE_BODIES[name]
    body = build()
    watch = Watch(guarded_api)

    # When it is posted
    response = watch.during(lambda: post(guarded_api, key, body, content_type))

    # Then it is refused for what it holds, the api never grew by 100 MB, and /healthz answered meanwhile
    assert isinstance(response, httpx.Response)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == code
    assert watch.growth < 100 * MB, f"the api grew by {watch.growth // MB} MB"


def test_a_body_of_400k_empty_gzip_members_is_refused_while_healthz_answers(guarded_api: stack.Api,
                                                                            key: str) -> None:
    # Given 8 MB made of 400,000 empty gzip members
    body = gzip.compress(b"") * 400_000
    watch = Watch(guarded_api)

    # When it is posted, three times
    def three_times() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {key}", "content-type": "application/json", "content-encoding": "gzip"}
        return [httpx.post(f"{guarded_api.url}/v1/traces", content=body, headers=headers, timeout=120)
                for _ in range(3)]

    responses = watch.during(three_times)

    # Then each is refused (4xx), and /healthz answered within a second all along
    assert isinstance(responses, list)
    assert [r.status_code for r in responses] == [413] * 3
    assert {r.json()["error"]["code"] for r in responses} == {"too_many_members"}


def connect(api: stack.Api) -> socket.socket:
    return socket.create_connection(("127.0.0.1", api.port), timeout=15)


def answer(sock: socket.socket, *, within: float) -> bytes:
    """All the server sends until it closes the connection (b"" when it closes without a word); TimeoutError when
    the connection is still open ``within`` seconds later."""
    deadline = time.monotonic() + within
    got = b""
    try:
        while True:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            chunk = sock.recv(65536)
            if not chunk:
                return got
            got += chunk
    except ConnectionResetError:
        return got


def test_headers_dripped_a_byte_a_second_are_answered_408_within_seconds(guarded_api: stack.Api) -> None:
    # Given a client that sends a request line and then one header byte a second
    with connect(guarded_api) as sock:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: tracedrop\r\nX-Drip: ")
        started = time.monotonic()
        got = None

        # When it keeps dripping (for at most 20 s)
        for _ in range(20):
            try:
                sock.sendall(b"a")
                got = answer(sock, within=1.0)
                break
            except TimeoutError:
                continue
            except OSError:
                got = b""
                break

    # Then the server answered 408 (or closed) within a few seconds of the header timeout
    waited = time.monotonic() - started
    assert got is not None, f"still open after {waited:.0f} s"
    assert got.startswith(b"HTTP/1.1 408") or got == b"", got[:80]
    assert waited < HEADER_TIMEOUT + 5


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(guarded_api: stack.Api) -> None:
    with connect(guarded_api) as sock:
        got = answer(sock, within=HEADER_TIMEOUT + 5)
    assert got.startswith(b"HTTP/1.1 408") or got == b""


def test_a_16_mb_header_is_431_or_closed_never_accepted(guarded_api: stack.Api, key: str) -> None:
    # Given a valid request whose one header is 16 MB
    body = orjson.dumps(make_trace())
    request = (b"POST /v1/traces HTTP/1.1\r\nHost: tracedrop\r\nAuthorization: Bearer " + key.encode() +
               b"\r\nContent-Type: application/json\r\nX-Big: " + b"a" * (16 * MB) +
               b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    # When it is sent
    with connect(guarded_api) as sock:
        with contextlib.suppress(OSError):  # the server may close the connection while it is being sent
            sock.sendall(request)
        got = answer(sock, within=10)

    # Then the answer is 431, or the connection was closed: never 202
    assert got.startswith(b"HTTP/1.1 431") or got == b"", got[:80]


def test_too_many_headers_are_431(guarded_api: stack.Api) -> None:
    with connect(guarded_api) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: tracedrop\r\n" +
                     b"".join(b"X-Header-%d: v\r\n" % i for i in range(500)) + b"\r\n")
        got = answer(sock, within=10)
    assert got.startswith(b"HTTP/1.1 431"), got[:80]


def test_unfinished_large_headers_do_not_balloon_the_api(guarded_api: stack.Api) -> None:
    # Given three clients each sending a header of up to 32 MB that never ends
    before = rss(guarded_api)
    closed: list[bool] = []
    peak = [before]

    def send_forever() -> None:
        with connect(guarded_api) as sock:
            try:
                sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: tracedrop\r\nX-Unfinished: ")
                for _ in range(32):
                    sock.sendall(b"a" * MB)
                    peak[0] = max(peak[0], rss(guarded_api))
            except (BrokenPipeError, ConnectionResetError):
                closed.append(True)  # the server closed it

    # When they send at once
    senders = [threading.Thread(target=send_forever, daemon=True) for _ in range(3)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=60)

    # Then the server closed each, and never held more than a few MB for them
    assert closed == [True, True, True]
    growth = max(peak[0], rss(guarded_api)) - before
    assert growth < 50 * MB, f"the api grew by {growth // MB} MB"


def test_a_stalled_body_is_answered_408(guarded_api: stack.Api, key: str) -> None:
    # Given a request that announces 100 bytes of body and sends one
    with connect(guarded_api) as sock:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: tracedrop\r\nAuthorization: Bearer " + key.encode() +
                     b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")

        # When it sends nothing more, Then it is answered 408 and closed a few seconds after the body timeout
        got = answer(sock, within=BODY_IDLE_TIMEOUT + 10)
    assert got.startswith(b"HTTP/1.1 408"), got[:80]


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(guarded_api: stack.Api) -> None:
    with connect(guarded_api) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: tracedrop\r\n\r\n")
        got = answer(sock, within=KEEP_ALIVE_TIMEOUT + 3)  # the answer, then the close
    assert got.startswith(b"HTTP/1.1 200")


def test_connections_past_the_cap_are_refused_at_once_and_half_open_ones_do_not_lock_clients_out(
        guarded_api: stack.Api) -> None:
    with contextlib.ExitStack() as stack_of_sockets:
        # Given as many half-open requests as the api takes connections
        held = [stack_of_sockets.enter_context(connect(guarded_api)) for _ in range(MAX_CONNECTIONS)]
        for sock in held:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: tracedrop\r\n")
        time.sleep(0.2)

        # When another client asks, Then it is answered 503 at once
        started = time.monotonic()
        refused = httpx.get(f"{guarded_api.url}/healthz", timeout=5)
        assert refused.status_code == 503
        assert time.monotonic() - started < 1

        # And once the header timeout has passed, the half-open ones are answered 408 and new clients are served
        for sock in held:
            got = answer(sock, within=HEADER_TIMEOUT + 5)
            assert got.startswith(b"HTTP/1.1 408") or got == b""
    assert httpx.get(f"{guarded_api.url}/healthz", timeout=5).status_code == 200


def test_a_bad_server_limit_stops_the_api_with_one_line() -> None:
    env = stack.tracedrop_env("redis://127.0.0.1:1/0", TRACEDROP_MAX_HEADER_BYTES="10")
    result = subprocess.run([stack._binary("tracedrop"), "api"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("tracedrop: TRACEDROP_MAX_HEADER_BYTES ")


def test_past_the_ingest_requests_in_flight_one_more_is_answered_503_at_once(
        own_api: Callable[..., stack.Api]) -> None:
    # Given an api that works on one ingest request at a time, busy with one whose body is still coming
    api = own_api(TRACEDROP_MAX_INGEST_IN_FLIGHT="1")
    admin = stack.Admin(api.url)
    admin.workspace("busy")
    key = admin.ingest_key("busy")
    admin.http.close()
    client = httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    with client, connect(api) as held:
        held.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: tracedrop\r\nAuthorization: Bearer " + key.encode() +
                     b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")

        # When another trace comes (until the held one is being worked on), Then it is refused with Retry-After
        def refused() -> httpx.Response | None:
            sent = client.post("/v1/traces", json=make_trace(1))
            return sent if sent.status_code == 503 else None

        busy = wait_for(refused, timeout=30, what="a 503 while the held request is in flight")
        assert busy.json()["error"]["code"] == "overloaded" and busy.headers["retry-after"] == "1"
        assert client.get("/healthz").status_code == 200

        held.close()
        # And once the held request is gone, traces are taken again
        wait_for(lambda: client.post("/v1/traces", json=make_trace(2)).status_code == 202, timeout=30,
                 what="a 202 once the held request is gone")
