"""The connection test: every outcome docs/s3.md and docs/webhooks.md list, produced for real and told apart, and
endpoints kept safe.

Stores: a SeaweedFS of this module's own with identities that can write only, read only, or write anywhere; and
small loopback servers that answer as a broken store, a website, a redirect or an AWS region error would. Every
address is on this machine: nothing here resolves a name through DNS or connects anywhere else.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import stack
from tests.conftest import LOOPBACK_SPELLINGS
from tests.rebinding import Rebinding
from tests.served import Served
from worker.errors import DeliveryError
from worker.kinds.s3 import conntest
from worker.kinds.s3.config import S3Config

WRITABLE, NO_DELETE, READABLE = "writable", "no-delete", "readable"
WRITER, READER, ANY_WRITER = "writer", "reader", "anywriter"
AWS_REGION_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthorizationHeaderMalformed</Code>'
                    b"<Message>The authorization header is malformed; the region 'us-east-1' is wrong; expecting "
                    b"'eu-west-1'</Message><Region>eu-west-1</Region><RequestId>R1</RequestId></Error>")
AWS_PERMANENT_REDIRECT = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code>'
                          b"<Message>The bucket you are attempting to access must be addressed using the specified "
                          b"endpoint.</Message><Endpoint>b.s3.ap-south-1.amazonaws.com</Endpoint></Error>")
SLOW_DOWN = b"<?xml version='1.0'?><Error><Code>SlowDown</Code><Message>Please reduce your rate.</Message></Error>"


@pytest.fixture(scope="module")
def store(workdir: Path) -> Iterator[stack.SeaweedFS]:
    """SeaweedFS with a write-only, a read-only and a write-anywhere identity; a bucket that refuses deletes."""
    identities = {
        WRITER: (uuid.uuid4().hex, [f"Write:{WRITABLE}", f"Write:{NO_DELETE}"]),
        READER: (uuid.uuid4().hex, [f"Read:{READABLE}", f"List:{READABLE}"]),
        ANY_WRITER: (uuid.uuid4().hex, ["Write"]),
    }
    server = stack.seaweedfs(workdir / "connection-test", identities=identities)
    admin = server.client()
    for bucket in (WRITABLE, NO_DELETE, READABLE):
        admin.create_bucket(Bucket=bucket)
    admin.put_bucket_policy(Bucket=NO_DELETE, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{NO_DELETE}/*"}
    ]}))
    yield server
    server.stop()


@dataclass
class Loopback(Served):
    """A loopback HTTP server answering every request with one canned response; it records what it got."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                canned.requests.append(f"{self.command} {self.path}")
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(canned.status)
                for name, value in {"Content-Length": str(len(canned.body)), **canned.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(canned.body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

        self.serve(Handler)


class Listener:
    """A loopback TCP listener that accepts connections, then holds them silently or closes them at once."""

    def __init__(self, *, hold: bool) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.accepted: list[socket.socket] = []
        self.stop = threading.Event()
        self.hold = hold
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)
            if not self.hold:
                conn.close()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.accepted:
            conn.close()
        self.sock.close()


class WithholdingProxy(Served):
    """A loopback HTTP proxy in front of the store that passes every request on but, for a PUT, never passes the
    store's answer back: the object is written, the client hears nothing."""

    def __init__(self, upstream: str) -> None:
        target = httpx.URL(upstream)
        self.released = threading.Event()
        self.puts: list[int] = []
        """The store's answer to each PUT passed on (and withheld)."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with httpx.Client(base_url=f"http://{target.host}:{target.port}") as client:
                    answer = client.request(self.command, self.path, content=body,
                                            headers=list(self.headers.items()))  # Host too: it is signed
                if self.command == "PUT":
                    proxy.puts.append(answer.status_code)
                    proxy.released.wait()
                    return
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_PUT = do_DELETE = do_HEAD = do_GET = _relay

        self.serve(Handler)

    def close(self) -> None:
        self.released.set()
        super().close()


@pytest.fixture()
def loopback() -> Iterator[Callable[..., Loopback]]:
    started: list[Loopback] = []

    def start(status: int, body: bytes = b"", **headers: str) -> Loopback:
        server = Loopback(status, body, {k.replace("_", "-"): v for k, v in headers.items()})
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture()
def listener() -> Iterator[Callable[..., Listener]]:
    started: list[Listener] = []

    def start(*, hold: bool) -> Listener:
        started.append(Listener(hold=hold))
        return started[-1]

    yield start
    for item in started:
        item.close()


def body_for(store: stack.SeaweedFS, bucket: str, identity: str = stack.ADMIN_KEY, **extra: Any) -> dict[str, Any]:
    return {**stack.s3_body(store, bucket), "access_key_id": identity, "access_secret": store.secret(identity),
            **extra}


def connection_test(admin: stack.Admin, workspace: str, body: dict[str, Any]) -> httpx.Response:
    return admin.http.post(f"/v1/workspaces/{workspace}/destinations/test", json=body)


def failure(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["ok"] is False
    return str(answer["error"]["code"]), str(answer["error"]["message"])


@dataclass
class Kit:
    """What a case builds its destination body from: the store, canned loopback servers, raw listeners."""

    store: stack.SeaweedFS
    serve: Callable[..., Loopback]
    listen: Callable[..., Listener]

    def body(self, bucket: str = WRITABLE, identity: str = stack.ADMIN_KEY, **extra: Any) -> dict[str, Any]:
        return body_for(self.store, bucket, identity, **extra)

    def at(self, endpoint: str) -> dict[str, Any]:
        return self.body(endpoint=endpoint)


XML = "application/xml"
# Each case: expected code, words the message must hold to tell a person what to do, the body to test.
CASES: dict[str, tuple[str, tuple[str, ...], Callable[[Kit], dict[str, Any]]]] = {
    "unknown key": ("invalid_access_key", ("access_key_id",), lambda k: k.body(access_key_id="nobody")),
    "wrong secret": ("signature_mismatch", ("access_secret",), lambda k: k.body(access_secret="wrong-secret")),
    "missing bucket": ("no_such_bucket", ("create it", "bucket_name"), lambda k: k.body("no-such-bucket-here")),
    "missing bucket, write-anywhere identity": ("no_such_bucket", ("bucket_name",),
                                                lambda k: k.body("no-such-bucket", ANY_WRITER)),
    "bucket exists, read-only identity": ("access_denied", ("exists", "s3:PutObject", f"{READABLE}/team/*"),
                                          lambda k: k.body(READABLE, READER, prefix="team")),
    "missing bucket, write-only identity: the store will not say": (
        "access_denied", ("will not tell", "bucket_name", "s3:PutObject", "s3:ListBucket"),
        lambda k: k.body("not-mine", WRITER)),
    "AWS region error": ("wrong_region", ("set region to 'eu-west-1'",),
                         lambda k: k.at(k.serve(400, AWS_REGION_ERROR, content_type=XML).url)),
    "AWS permanent redirect": ("wrong_region", ("set region to 'ap-south-1'",), lambda k: k.at(
        k.serve(301, AWS_PERMANENT_REDIRECT, content_type=XML, x_amz_bucket_region="ap-south-1").url)),
    "closed port": ("endpoint_unreachable", ("check the URL", "port"),
                    lambda k: k.at(f"http://127.0.0.1:{stack.free_port()}")),
    "connection closed at once": ("endpoint_unreachable", ("closed the connection",),
                                  lambda k: k.at(f"http://127.0.0.1:{k.listen(hold=False).port}")),
    "https to a plain-http port": ("endpoint_unreachable", ("TLS", "https"),
                                   lambda k: k.at(k.store.endpoint.replace("http:", "https:"))),
    "name that does not resolve": ("endpoint_unreachable", ("does not resolve",),
                                   lambda k: k.at("https://store.invalid")),
    "store answers 503 SlowDown": ("endpoint_unreachable", ("try again",),
                                   lambda k: k.at(k.serve(503, SLOW_DOWN, content_type=XML).url)),
    "a website": ("incompatible_endpoint", ("endpoint URL",), lambda k: k.at(
        k.serve(200, b"<html><body>Welcome to nginx!</body></html>", content_type="text/html").url)),
    "a website's 404 page": ("incompatible_endpoint", ("HTTP 404", "endpoint URL"),
                             lambda k: k.at(k.serve(404, b"<html>Not Found</html>", content_type="text/html").url)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_failure_is_told_apart_with_what_to_do(admin: stack.Admin, workspace: str, store: stack.SeaweedFS,
                                                    loopback: Callable[..., Loopback],
                                                    listener: Callable[..., Listener], case: str) -> None:
    expected, advice, build = CASES[case]
    code, message = failure(connection_test(admin, workspace, build(Kit(store, loopback, listener))))
    assert code == expected, message
    for words in advice:
        assert words in message, message


def test_a_failed_test_saves_nothing(admin: stack.Admin, workspace: str, store: stack.SeaweedFS) -> None:
    saved = admin.http.post(f"/v1/workspaces/{workspace}/destinations",
                            json={**body_for(store, WRITABLE), "access_secret": "wrong-secret"})
    assert failure(saved)[0] == "signature_mismatch"
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}


@pytest.mark.parametrize("identity", [stack.ADMIN_KEY, WRITER])
def test_write_only_credentials_pass_and_the_test_object_is_deleted(
    admin: stack.Admin, workspace: str, store: stack.SeaweedFS, identity: str
) -> None:
    response = connection_test(admin, workspace, body_for(store, WRITABLE, identity, prefix="team/a"))
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    assert response.json()["key"].startswith("team/a/.tracedrop-connection-test-")
    assert store.keys(WRITABLE, "team/a/") == []


def test_a_refused_delete_still_passes_and_leaves_the_object(admin: stack.Admin, workspace: str,
                                                             store: stack.SeaweedFS) -> None:
    response = connection_test(admin, workspace, body_for(store, NO_DELETE, WRITER))
    assert response.status_code == 200, response.text
    key = response.json()["key"]
    assert key.startswith(".tracedrop-connection-test-") and key.endswith(".json")
    assert key in store.keys(NO_DELETE)


def test_a_server_that_never_answers_is_a_timeout_answered_within_ten_seconds(
    admin: stack.Admin, workspace: str, store: stack.SeaweedFS, listener: Callable[..., Listener]
) -> None:
    silent = listener(hold=True)
    response = connection_test(admin, workspace,
                               {**body_for(store, WRITABLE), "endpoint": f"http://127.0.0.1:{silent.port}"})
    code, message = failure(response)
    assert code == "timeout" and "did not answer" in message
    assert silent.accepted, "the connection was accepted"


def test_a_write_the_store_took_without_answering_in_time_is_deleted_all_the_same(
    admin: stack.Admin, workspace: str, store: stack.SeaweedFS
) -> None:
    proxy = WithholdingProxy(store.endpoint)
    try:
        response = connection_test(admin, workspace, {**body_for(store, WRITABLE, prefix="withheld"),
                                                      "endpoint": proxy.url})
    finally:
        proxy.close()
    code, message = failure(response)
    assert code == "timeout" and "did not answer" in message
    assert proxy.puts == [200], "the store took the test object"
    assert store.keys(WRITABLE, "withheld/") == []


def test_redirects_are_never_followed(admin: stack.Admin, workspace: str, store: stack.SeaweedFS,
                                      loopback: Callable[..., Loopback]) -> None:
    target = loopback(200, b"", ETag='"abc"')
    redirect = loopback(307, b"", location=f"{target.url}/elsewhere")
    code, message = failure(connection_test(admin, workspace, {**body_for(store, WRITABLE),
                                                                "endpoint": redirect.url}))
    assert code == "incompatible_endpoint" and "never follows redirects" in message
    assert len(redirect.requests) == 1
    assert target.requests == []


def test_a_wrong_region_is_reported_not_silently_retried(admin: stack.Admin, workspace: str,
                                                         store: stack.SeaweedFS,
                                                         loopback: Callable[..., Loopback]) -> None:
    region_error = loopback(400, AWS_REGION_ERROR, content_type="application/xml")
    failure(connection_test(admin, workspace, {**body_for(store, WRITABLE), "endpoint": region_error.url}))
    assert [r.split()[0] for r in region_error.requests] == ["PUT"]


def test_dns_rebinding_is_refused_when_the_connection_is_opened(monkeypatch: pytest.MonkeyPatch,
                                                                listener: Callable[..., Listener]) -> None:
    # Given a name whose first answer is public (the check before connecting passes) and whose next is loopback
    target = listener(hold=True)
    dns = Rebinding(monkeypatch, "store.rebind.example")
    config = S3Config(name="x", bucket_name="bucket", region="us-east-1", access_key_id="a",
                               access_secret="b", endpoint=f"https://store.rebind.example:{target.port}")

    # When the connection test runs with private endpoints refused
    with pytest.raises(DeliveryError) as refused:
        conntest.connection_test(config, allow_private=False)

    # Then the connection is refused on the second answer, before anything connects
    assert refused.value.code == "endpoint_forbidden"
    assert "127.0.0.1" in refused.value.message
    assert dns.lookups == 2 and dns.attempted == []
    time.sleep(0.3)
    assert target.accepted == []


@pytest.mark.parametrize("endpoint", LOOPBACK_SPELLINGS)
def test_loopback_in_every_spelling_is_forbidden_without_private_endpoints(public_admin: stack.Admin,
                                                                           workspace: str, endpoint: str) -> None:
    body = {"name": "x", "type": "s3", "bucket_name": "bucket", "region": "us-east-1", "endpoint": endpoint,
            "access_key_id": "a", "access_secret": "b"}
    code, message = failure(connection_test(public_admin, workspace, body))
    assert code == "endpoint_forbidden", message
    assert "TRACEDROP_ALLOW_PRIVATE_ENDPOINTS" in message
    saved = public_admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=body)
    assert failure(saved)[0] == "endpoint_forbidden"


def test_without_private_endpoints_http_is_refused_and_unknown_names_are_unreachable(
    public_admin: stack.Admin, workspace: str
) -> None:
    body = {"name": "x", "type": "s3", "bucket_name": "bucket", "region": "us-east-1", "access_key_id": "a",
            "access_secret": "b"}
    code, message = failure(connection_test(public_admin, workspace,
                                            {**body, "endpoint": "http://store.invalid"}))
    assert code == "endpoint_forbidden" and "https" in message
    code, message = failure(connection_test(public_admin, workspace,
                                            {**body, "endpoint": "https://store.invalid"}))
    assert code == "endpoint_unreachable" and "does not resolve" in message
    refused = connection_test(public_admin, workspace, {**body, "endpoint": "https://user:pass@store.invalid"})
    assert refused.status_code == 422
    assert [p["field"] for p in refused.json()["error"]["problems"]] == ["endpoint"]
