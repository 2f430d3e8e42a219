"""A webhook receiver for the tests: a real HTTP server on loopback, in a thread of the test process.

It records every request (method, path, headers, body) and answers as ``behave`` says: by default 200. A test
swaps ``behave`` to answer 503, 401, refuse one trace, or hang (``hold``) until released. It counts the
connections it accepted, and serves https when given a TLS context.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from standardwebhooks import Webhook


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    """What the receiver answered (0 while it has not)."""

    @property
    def testing(self) -> bool:
        return self.headers.get("x-test-connection") == "true"


Answer = tuple[int, dict[str, str], bytes]
Behaviour = Callable[[Request], Answer]


def ok(_: Request) -> Answer:
    return 200, {}, b""


class Server(ThreadingHTTPServer):
    """Counts the connections it accepts; wraps each in TLS when it has a context (the handshake runs in the
    request's own thread)."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.tls = tls
        self.connections = 0

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        self.connections += 1
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address


@dataclass
class Receiver:
    server: Server
    behave: Behaviour = ok
    requests: list[Request] = field(default_factory=list)
    hold: threading.Event | None = None
    """While set to an unset Event, every request waits for it before answering (a hanging receiver)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        """``scheme://host:port``: a vendor's base URL."""
        host, port = self.server.server_address[:2]
        return f"{'https' if self.server.tls else 'http'}://{host}:{port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/hook"

    @property
    def connections(self) -> int:
        """Connections it accepted, whatever came of them."""
        return self.server.connections

    def deliveries(self) -> list[Request]:
        """The requests that were not connection tests."""
        with self.lock:
            return [r for r in self.requests if not r.testing]

    def accepted(self) -> list[Request]:
        """The deliveries it answered with a 2xx."""
        return [r for r in self.deliveries() if 200 <= r.status < 300]

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


def start_receiver(tls: ssl.SSLContext | None = None) -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(length))
            with receiver.lock:
                receiver.requests.append(request)
            hold = receiver.hold
            if hold is not None and not request.testing:
                hold.wait(60)
            status, headers, body = receiver.behave(request)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            except OSError:
                self.close_connection = True  # the client gave up waiting: this answer never reached it
                return
            request.status = status

        do_GET = do_POST = do_PUT = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = Server(Handler, tls)
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, name="receiver", daemon=True).start()
    return receiver


@contextmanager
def answering(behave: Behaviour) -> Iterator[Receiver]:
    """A receiver that answers as ``behave`` says, stopped when the block ends (a fixture's body)."""
    receiver = start_receiver()
    receiver.behave = behave
    try:
        yield receiver
    finally:
        receiver.stop()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def webhook(receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return {"name": "hook", "type": "webhook", "url": receiver.url, **fields}


def verified(secret: str, request: Request) -> bytes:
    """The body once its Standard Webhooks signature verified (the library for JSON; the spec's steps for protobuf);
    without a secret, that the request carries no signature."""
    if not secret:
        assert "webhook-signature" not in request.headers
        return request.body
    if request.headers["content-type"] == "application/json":
        Webhook(secret).verify(request.body, request.headers)
        return request.body
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode() + request.body
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert request.headers["webhook-signature"] == f"v1,{expected}"
    return request.body


def span_ids(body: dict[str, Any]) -> list[str]:
    """The ``tracedrop.id`` of every span of an OTLP/JSON (or protobuf-as-dict) body."""
    found = []
    for resource in body["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                attributes = {a["key"]: a["value"] for a in span["attributes"]}
                found.append(attributes["tracedrop.id"]["stringValue"])
    return found


def delivered_ids(receiver: Receiver, secret: str) -> list[str]:
    """Every trace id the receiver got, after verifying each request and dropping redeliveries by webhook-id."""
    ids: list[str] = []
    seen: set[str] = set()
    for request in receiver.accepted():
        if request.headers["webhook-id"] in seen:
            continue
        seen.add(request.headers["webhook-id"])
        body = verified(secret, request)
        if request.headers["content-type"] == "application/x-protobuf":
            ids += span_ids(MessageToDict(ExportTraceServiceRequest.FromString(body)))
        else:
            parsed = orjson.loads(body)
            if isinstance(parsed, dict) and "resourceSpans" in parsed:
                ids += span_ids(parsed)
            else:
                ids += [d["id"] for d in (parsed if isinstance(parsed, list) else [parsed])]
    return ids


def exported(receiver: Receiver) -> list[tuple[Request, dict[str, Any], dict[str, Any]]]:
    """Every span the receiver took: (its request, the resource's attributes, the span's attributes)."""
    found = []
    for request in list(receiver.requests):
        if request.method != "POST" or request.status != 200 or not request.body:
            continue
        body = MessageToDict(ExportTraceServiceRequest.FromString(request.body))
        for resource_spans in body.get("resourceSpans", []):
            resource = {a["key"]: next(iter(a["value"].values())) for a in resource_spans["resource"]["attributes"]}
            for scope in resource_spans["scopeSpans"]:
                for span in scope["spans"]:
                    attributes = {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
                    found.append((request, resource, {"name": span["name"], **attributes}))
    return found
