"""The only module that talks HTTP to webhook receivers: aiohttp on one event loop per process, behind the egress
fence (worker/egress.py's resolver checks every address a name resolves to, and aiohttp connects to exactly those).

Redirects are never followed and nothing is retried here (the outbox retries); an answer's body is read up to
``ANSWER_BYTES``. Callers are synchronous: ``send_all`` runs a batch of requests concurrently on the loop and
returns their answers (or the error each met) in order.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp

from worker.egress import CONNECT_TIMEOUT, READ_TIMEOUT, CheckedResolver
from worker.errors import DeliveryError
from worker.kinds.webhook.errors import from_exception

ANSWER_BYTES = 4096
"""At most this much of an answer's body is read."""
MAX_IN_FLIGHT = 64
USER_AGENT = "tracedrop"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    """The first ANSWER_BYTES of the body at most."""
    location: str | None = None
    retry_after: str | None = None


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes
    headers: dict[str, str]


class Client:
    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._loop = asyncio.new_event_loop()
        self._session: aiohttp.ClientSession | None = None
        self._started = threading.Lock()
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhook-loop", daemon=True)
        atexit.register(self.close)

    def close(self) -> None:
        """Close the session's connections (at exit: a process's clients live as long as it does)."""
        if self._session is not None and self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(timeout=5)
            self._session = None

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        with self._started:
            if not self._thread.is_alive():
                self._thread.start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=CheckedResolver(allow_private=self.allow_private),
                                             limit=MAX_IN_FLIGHT, use_dns_cache=False)
            timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                                  skip_auto_headers=("User-Agent", "Content-Type"))
        return self._session

    async def _one(self, request: Request) -> Answer | DeliveryError:
        session = await self._open()
        try:
            async with session.request(request.method, request.url, data=request.body, allow_redirects=False,
                                       headers={"User-Agent": USER_AGENT, **request.headers}) as response:
                try:
                    data = await response.content.read(ANSWER_BYTES)
                except Exception:
                    data = b""  # the status is the answer; a body that does not arrive does not change it
                return Answer(status=response.status, body=data, location=response.headers.get("location"),
                              retry_after=response.headers.get("retry-after"))
        except DeliveryError as exc:
            return exc
        except Exception as exc:
            return from_exception(exc)

    def send_all(self, requests: list[Request]) -> list[Answer | DeliveryError]:
        """Send every request concurrently; each one's answer, or the error it met, in order."""
        if not requests:
            return []

        async def everything() -> list[Answer | DeliveryError]:
            return list(await asyncio.gather(*(self._one(request) for request in requests)))

        return list(self._run(everything()))

    def send(self, method: str, url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
        """One request; raise a DeliveryError when there is no answer."""
        [outcome] = self.send_all([Request(method, url, body, headers)])
        if isinstance(outcome, DeliveryError):
            raise outcome
        return outcome
