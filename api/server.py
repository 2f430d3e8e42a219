"""The api's HTTP server: uvicorn, with the limits an ingest service on the internet needs.

uvicorn bounds neither the size nor the number of a request's headers, nor the time a client takes to send them:
a client dripping a header a byte a second keeps its connection (and its place under the connection cap) forever,
and a 100 MB header is buffered whole. ``LimitedProtocol`` is uvicorn's httptools protocol with those bounds:

- the request line and headers past ``max_header_bytes``, or more than ``max_headers`` headers: ``431``;
- headers not complete ``header_timeout`` seconds after the connection opened (or the request's first byte, on
  a kept-alive connection): ``408``;
- a body that pauses for ``body_idle_timeout`` seconds (not while the app has not asked for more): ``408``;

each answer closes the connection. uvicorn itself closes idle kept-alive connections (``keep_alive_timeout``) and
answers ``503`` past ``max_connections``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from worker.settings import Settings, get_settings

HEADERS, BODY, DONE = "headers", "body", "done"
"""What the protocol is reading: a request's line and headers, its body, or nothing (the request is in)."""


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """``uvicorn.run`` options enforcing the settings. uvicorn refuses a request once the open connections,
    counting its own, reach ``limit_concurrency``: one more than the connections allowed."""
    return {"http": LimitedProtocol, "ws": "none", "limit_concurrency": settings.max_connections + 1,
            "timeout_keep_alive": settings.keep_alive_timeout}


class _Refused(Exception):
    """Raised from a parser callback to stop the parser; the answer is in ``LimitedProtocol.refusal``."""


class LimitedProtocol(HttpToolsProtocol):
    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = get_settings()
        self.reading = HEADERS
        self.header_bytes = 0
        self.header_count = 0
        self.deadline: asyncio.TimerHandle | None = None
        self.refusal: tuple[int, str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.reading == BODY:
            self._arm(self.limits.body_idle_timeout, self._body_stalled)
        else:
            self.header_bytes += len(data)
            if self.deadline is None and (self.cycle is None or self.cycle.response_complete):
                self._arm(self.limits.header_timeout, self._headers_late)  # the next request's first bytes
        super().data_received(data)
        if self.reading != BODY and self.header_bytes > self.limits.max_header_bytes:
            self._answer(431, f"request headers are over {self.limits.max_header_bytes} bytes")

    def send_400_response(self, msg: str) -> None:
        if self.refusal is not None:
            self._answer(*self.refusal)
        else:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading, self.header_count = HEADERS, 0
        if self.deadline is None:
            self._arm(self.limits.header_timeout, self._headers_late)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        if self.header_count > self.limits.max_headers:
            self._refuse(f"more than {self.limits.max_headers} request headers")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._refuse(f"request headers are over {self.limits.max_header_bytes} bytes")
        self.reading, self.header_bytes = BODY, 0
        self._disarm()
        super().on_headers_complete()
        self._arm(self.limits.body_idle_timeout, self._body_stalled)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading = DONE
        self._disarm()

    def _refuse(self, message: str) -> None:
        self.refusal = (431, message)
        raise _Refused(message)

    def _headers_late(self) -> None:
        self.deadline = None
        if self.cycle is not None and not self.cycle.response_complete:  # the client waits for an answer
            self._arm(self.limits.header_timeout, self._headers_late)
            return
        self._answer(408, f"request headers not received within {self.limits.header_timeout:g} s")

    def _body_stalled(self) -> None:
        self.deadline = None
        if self.flow.read_paused or (self.cycle is not None and self.cycle.waiting_for_100_continue):
            # the app has not asked for more yet
            self._arm(self.limits.body_idle_timeout, self._body_stalled)
            return
        self._answer(408, f"request body paused for {self.limits.body_idle_timeout:g} s")

    def _answer(self, status: int, message: str) -> None:
        """Answer ``status`` and close; only close when a response has already begun."""
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
        self.logger.warning("%s - %d: %s", client, status, message)
        if self.cycle is None or not self.cycle.response_started:
            body = message.encode()
            head = [STATUS_LINE[status], *(name + b": " + value + b"\r\n" for name, value in
                                           self.server_state.default_headers),
                    b"content-type: text/plain; charset=utf-8\r\n", b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n"]
            self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _arm(self, seconds: float, then: Any) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(seconds, then)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
