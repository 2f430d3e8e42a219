"""A loopback HTTP proxy in front of a real S3 server that refuses some objects for good.

Fault injection for dead letters: a PUT whose key contains a marker is answered ``400 EntityTooLarge`` (as S3
answers an object it will never take); every other request goes to the real server unchanged, Host header
included, so SigV4 signatures still verify there.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

REFUSAL = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>EntityTooLarge</Code>'
           b"<Message>Your proposed upload exceeds the maximum allowed object size.</Message></Error>")


class RefusingProxy:
    def __init__(self, upstream: str, marker: str) -> None:
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "PUT" and marker in self.path:
                    proxy.refused += 1
                    self.send_response(400)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(REFUSAL)))
                    self.end_headers()
                    self.wfile.write(REFUSAL)
                    return
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    upstream_conn.request(self.command, self.path, body=body, headers=dict(self.headers))
                    answer = upstream_conn.getresponse()
                    data = answer.read()
                finally:
                    upstream_conn.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.refused = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RefusingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
