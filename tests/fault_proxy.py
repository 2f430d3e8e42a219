"""A loopback HTTP proxy in front of a real S3 server that misbehaves on demand, for fault injection.

Modes: ``pass`` relays every request unchanged (Host header included, so SigV4 signatures still verify upstream);
``down`` closes the listening socket (a client sees connection refused, as from a stopped server; ``pass`` listens
again on the same port); ``hang`` accepts connections and reads requests but never answers; ``deny`` answers every
request ``403 AccessDenied``, as a store answers credentials that lost their rights; ``slow`` answers every request
``503 SlowDown`` with ``Retry-After: SLOW_DOWN_SECONDS``, as a throttling store does. In ``pass`` mode, a PUT whose
path contains ``poison`` (if given) is answered ``400 EntityTooLarge``, as S3 answers an object it will never take.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

Mode = Literal["pass", "down", "hang", "deny", "slow"]

REFUSAL = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>EntityTooLarge</Code>'
           b"<Message>Your proposed upload exceeds the maximum allowed object size.</Message></Error>")
SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")
SLOW_DOWN_SECONDS = 4
DENIAL = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
          b"<Message>Access Denied</Message></Error>")


class FaultProxy:
    def __init__(self, upstream: str, *, poison: str | None = None) -> None:
        self.target = urlsplit(upstream)
        self.poison = poison
        self.mode: Mode = "pass"
        self.refused = 0
        self.hung = 0
        self.denied = 0
        self.slowed = 0
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.server = self._listen(0)
        self.port = int(self.server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, mode: Mode) -> None:
        """Switch mode; requests hanging so far are dropped without an answer when the mode changes."""
        with self._lock:
            if mode == self.mode:
                return
            if self.mode == "hang":
                self._release.set()
            if mode == "down":
                self._close()
            elif self.mode == "down":
                self.server = self._listen(self.port)
            if mode == "hang":
                self._release = threading.Event()
            self.mode = mode

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        if self.mode != "down":
            self._close()

    def _close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _listen(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True).start()
        return server

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy.mode == "down":
                    self.close_connection = True
                    return
                if proxy.mode == "hang":
                    proxy.hung += 1
                    proxy._release.wait(120)
                    self.close_connection = True
                    return
                if proxy.mode == "deny":
                    proxy.denied += 1
                    self._answer(403, [("Content-Type", "application/xml")], DENIAL)
                    return
                if proxy.mode == "slow":
                    proxy.slowed += 1
                    self._answer(503, [("Content-Type", "application/xml"),
                                       ("Retry-After", str(SLOW_DOWN_SECONDS))], SLOW_DOWN)
                    return
                if self.command == "PUT" and proxy.poison and proxy.poison in self.path:
                    proxy.refused += 1
                    self._answer(400, [("Content-Type", "application/xml")], REFUSAL)
                    return
                upstream = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self._answer(answer.status, answer.getheaders(), data)

            def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
