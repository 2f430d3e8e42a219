"""The egress fence, attacked as issue 27 found it open: a URL whose host is loopback or the metadata address
written in Unicode segmented digits, a saved URL delivered after private endpoints were turned off, and a store
answering an endless error body (to the aiohttp client and to boto3's); and the operator's proxy, still trusted.

Every server here listens on loopback. The metadata and proxy cases run in-process behind a guard that refuses, and
records, any connection that would leave the machine: the fence must refuse before anything connects.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.rebinding import PUBLIC, OffLoopbackGuard, Rebinding
from tests.receiver import Receiver, start_receiver, webhook
from tests.served import Served
from worker import kinds
from worker.egress import ANSWER_BYTES, EXCERPT_BYTES, checked_session
from worker.errors import DeliveryError, EndpointForbidden
from worker.kinds.s3 import client as s3_client
from worker.kinds.s3.config import S3Config
from worker.kinds.webhook.config import WebhookConfig

SEGMENTED = "".join(chr(0x1FBF0 + d) for d in range(10))


def segmented(address: str) -> str:
    """``address`` written in Unicode segmented digits (U+1FBF0-U+1FBF9): a host name to anything but yarl."""
    return "".join(SEGMENTED[int(c)] if c.isdigit() else c for c in address)


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1: the receiver serves it; a process given ``SSL_CERT_FILE`` trusts it."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tracedrop test receiver")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    found = Certificate(directory / "receiver.pem", directory / "receiver.key")
    found.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    found.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return found


@pytest.fixture()
def tls_receiver(certificate: Certificate) -> Iterator[Receiver]:
    receiver = start_receiver(certificate.server_context())
    yield receiver
    receiver.stop()


def test_a_loopback_receiver_in_segmented_digits_is_refused_without_private_endpoints(
    public_admin: stack.Admin, workspace: str, tls_receiver: Receiver
) -> None:
    # Given a receiver on loopback, and its URL with the host written in segmented digits
    port = tls_receiver.server.server_address[1]
    url = f"https://{segmented('127.0.0.1')}:{port}/hook"
    route = f"/v1/workspaces/{workspace}/destinations"

    # When an admin of an api without private endpoints tests it and tries to save it
    tested = public_admin.http.post(f"{route}/test", json=webhook(tls_receiver, url=url))
    saved = public_admin.http.post(route, json=webhook(tls_receiver, url=url))

    # Then both are refused by the fence, for the address the client would have connected to
    for answer in (tested, saved):
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "endpoint_forbidden", error
        assert "127.0.0.1" in error["message"] and "TRACEDROP_ALLOW_PRIVATE_ENDPOINTS" in error["message"]
    # and nothing was saved, and the receiver got nothing, not even a connection
    assert public_admin.http.get(route).json() == {"destinations": []}
    assert tls_receiver.connections == 0 and tls_receiver.requests == []


@pytest.mark.parametrize("config", [
    WebhookConfig(name="x", type="webhook", url=f"https://{segmented('169.254.169.254')}/latest/meta-data/"),
    WebhookConfig(name="x", type="webhook", url=f"http://{segmented('169.254.169.254')}:80/latest/meta-data/"),
    S3Config(name="x", bucket_name="bucket", region="us-east-1", access_key_id="a", access_secret="s",
             endpoint=f"http://{segmented('169.254.169.254')}"),
], ids=["webhook https", "webhook http", "s3"])
def test_the_metadata_address_in_segmented_digits_is_refused_with_private_endpoints_before_connecting(
    monkeypatch: pytest.MonkeyPatch, config: Any
) -> None:
    # Given the metadata address in segmented digits, where private endpoints are allowed, and a guard that
    # refuses any connection off loopback (so even a broken fence reaches nothing)
    guard = OffLoopbackGuard(monkeypatch)

    # When the connection test runs, as the api runs it before saving
    with pytest.raises(DeliveryError) as refused:
        kinds.connection_test(config, allow_private=True)

    # Then the fence refused it for what it is, and no connection was even attempted
    assert refused.value.code == "endpoint_forbidden", refused.value.message
    assert "169.254.169.254" in refused.value.message and "never allowed" in refused.value.message
    assert guard.attempted == []


def test_a_url_saved_while_private_endpoints_were_allowed_is_refused_at_delivery_once_they_are_not(
    tmp_path: Path, certificate: Certificate, tls_receiver: Receiver
) -> None:
    with ExitStack() as running:
        # Given an installation whose api allows private endpoints, and an https receiver on loopback that the
        # api and worker trust
        redis = stack.redis_server(tmp_path)
        running.callback(redis.stop)
        env = stack.tracedrop_env(redis.url, SSL_CERT_FILE=str(certificate.cert))
        api = stack.api(tmp_path, env)
        running.callback(api.stop)
        admin = stack.Admin(api.url)
        running.callback(admin.http.close)
        admin.workspace("fence")
        destination = admin.destination("fence", webhook(tls_receiver, format="json"))["id"]
        assert tls_receiver.url.startswith("https://127.0.0.1:")
        tested = tls_receiver.connections
        assert tested >= 1 and len(tls_receiver.requests) == 1, "the connection test reached the receiver"

        # When the only worker runs with private endpoints turned off, and a trace is owed to the destination
        worker = stack.worker(tmp_path, {**env, "TRACEDROP_ALLOW_PRIVATE_ENDPOINTS": "false"}, name="fenced")
        running.callback(worker.stop)
        key = admin.ingest_key("fence")
        accepted = httpx.post(f"{api.url}/v1/traces", json={"traces": [make_trace(1)]},
                              headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert accepted.status_code == 202, accepted.text

        # Then the destination is parked with the fence's refusal, and the receiver got nothing more
        parked = wait_for(lambda: (s if (s := admin.status("fence", destination))["parked"] or s["delivered"]
                                   else None), what="the destination parked (or the trace delivered)")
        assert parked["parked"] and parked["last_error"]["code"] == "endpoint_forbidden", parked
        assert "127.0.0.1" in parked["last_error"]["message"]
        assert parked["delivered"] == 0 and parked["backlog"]["size"] == 1
        assert tls_receiver.deliveries() == []
        assert tls_receiver.connections == tested


class EndlessErrorStore(Served):
    """A loopback 'S3 store' answering every request 500 with a body of ``size`` bytes (starting with ``head``),
    sent until the client closes the connection; it counts what it managed to send."""

    CHUNK = b"<Error>" + b"x" * 65_529

    def __init__(self, size: int, *, head: bytes = b"") -> None:
        self.size = size
        self.sent = 0
        self.closed_early = threading.Event()
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(500)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(store.size))
                self.end_headers()
                self.close_connection = True
                try:
                    self.wfile.write(head)
                    store.sent += len(head)
                    while store.sent < store.size:
                        chunk = EndlessErrorStore.CHUNK[:store.size - store.sent]
                        self.wfile.write(chunk)
                        store.sent += len(chunk)
                except OSError:
                    store.closed_early.set()

            do_DELETE = do_HEAD = do_PUT

        self.serve(Handler)


@pytest.fixture()
def endless_store() -> Iterator[Any]:
    started: list[EndlessErrorStore] = []

    def start(size: int, **options: Any) -> EndlessErrorStore:
        started.append(EndlessErrorStore(size, **options))
        return started[-1]

    yield start
    for store in started:
        store.close()


S3_BODY = {"name": "x", "type": "s3", "bucket_name": "bucket", "region": "us-east-1", "access_key_id": "a",
           "access_secret": "s"}


def test_a_store_answering_a_huge_error_body_is_read_only_up_to_the_cap(
    admin: stack.Admin, workspace: str, endless_store: Any
) -> None:
    # Given an S3-compatible endpoint that answers 500 with 64 MiB of body
    store = endless_store(64 * 1024 * 1024)

    # When the api runs the connection test against it
    answer = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test",
                             json={**S3_BODY, "endpoint": store.url})

    # Then the failure is reported as the store's, with a short message
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "endpoint_unreachable" and "500" in error["message"], error
    assert len(error["message"]) < 1000
    # and the client stopped reading at the cap: it closed the connection long before the body was sent
    assert store.closed_early.wait(10), f"the whole body was read ({store.sent} bytes sent)"
    assert store.sent < 32 * 1024 * 1024


def test_an_s3_error_message_is_shown_only_as_a_short_excerpt(
    admin: stack.Admin, workspace: str, endless_store: Any
) -> None:
    # Given a store whose 500 carries an S3 error whose Message is longer than any message should show
    message = b"M" * (ANSWER_BYTES // 2)
    head = b"<Error><Code>InternalError</Code><Message>" + message + b"</Message></Error>"
    store = endless_store(len(head), head=head)

    # When the api runs the connection test against it
    answer = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test",
                             json={**S3_BODY, "endpoint": store.url})

    # Then the message names the store's error, and shows at most an excerpt of its Message
    error = answer.json()["error"]
    assert error["code"] == "endpoint_unreachable" and "InternalError" in error["message"], error
    assert error["message"].count("M") == EXCERPT_BYTES, error["message"]


def test_through_the_operators_proxy_the_endpoint_is_checked_and_the_proxy_trusted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the operator's proxy on loopback (answering every CONNECT 403), private endpoints refused, and a store
    # name whose DNS answer is public (nothing but loopback is ever connected to here)
    asked: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_CONNECT(self) -> None:
            asked.append(self.path)
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()

    proxy = Served()
    proxy.serve(Proxy)
    dns = Rebinding(monkeypatch, "store.example.com", then=PUBLIC)

    async def through_proxy(url: str) -> BaseException:
        session = checked_session(allow_private=False, limit=4)
        try:
            async with session.get(url, proxy=proxy.url):
                raise AssertionError("the request went through")
        except Exception as exc:
            return exc
        finally:
            await session.close()

    try:
        # When a request goes through the proxy to the store, and another to loopback in segmented digits
        allowed = asyncio.run(through_proxy("https://store.example.com/bucket/key"))
        refused = asyncio.run(through_proxy(f"https://{segmented('127.0.0.1')}/bucket/key"))
    finally:
        proxy.close()

    # Then the proxy (a loopback address, the operator's own) was asked for the store, the store's name was
    # checked before, and loopback was refused by the fence before the proxy heard of it
    assert isinstance(allowed, aiohttp.ClientHttpProxyError) and allowed.status == 403, allowed
    assert isinstance(refused, EndpointForbidden) and "127.0.0.1" in str(refused), refused
    assert asked == ["store.example.com:443"]
    assert dns.lookups == 1 and dns.attempted == []


def test_a_batch_file_put_reads_a_huge_error_body_only_up_to_the_cap(endless_store: Any) -> None:
    # Given an S3-compatible endpoint that answers 500 with 64 MiB of body, and the boto3 client batch files use
    store = endless_store(64 * 1024 * 1024)
    config = S3Config(name="x", bucket_name="bucket", region="us-east-1", access_key_id="a", access_secret="s",
                      endpoint=store.url)
    client = s3_client.build_client(config, allow_private=True)

    # When a batch file is written to it
    with pytest.raises(DeliveryError) as failed:
        s3_client.put_object(client, bucket="bucket", key="f.jsonl", body=b"{}", content_type="application/x-ndjson")

    # Then the store's failure is reported, and botocore got only the first bytes of the answer
    assert failed.value.code == "store_unavailable" and len(failed.value.message) < 1000, failed.value.message
    assert store.closed_early.wait(10), f"the whole body was read ({store.sent} bytes sent)"
    assert store.sent < 32 * 1024 * 1024
    # and the client, its connection closed, connects again for the next file
    store.closed_early.clear()
    with pytest.raises(DeliveryError):
        s3_client.put_object(client, bucket="bucket", key="g.jsonl", body=b"{}", content_type="application/x-ndjson")
    assert store.closed_early.wait(10)
