"""The only module that talks HTTP to webhook receivers: aiohttp on this process's event loop (worker/eventloop.py),
behind the egress fence (``egress.checked_session``: every address a name resolves to is checked, and aiohttp
connects to exactly those).

Redirects are never followed and nothing is retried here (the outbox retries); an answer's body is read up to
``egress.ANSWER_BYTES``. Callers are synchronous: ``send_all`` runs a batch of requests concurrently on the loop and
returns their answers (or the error each met) in order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from worker import eventloop
from worker.egress import READ_TIMEOUT, checked_session, read_answer, timeouts
from worker.errors import DeliveryError
from worker.kinds.webhook.errors import from_exception, from_status
from worker.kinds.webhook.target import CREDENTIALS

MAX_IN_FLIGHT = 64
USER_AGENT = "tracedrop"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    """The first ``egress.ANSWER_BYTES`` of the body at most."""
    location: str | None = None
    retry_after: str | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    """As the receiver sent them: the body is kept as it came (compressed, in its charset)."""


def from_answer(answer: Answer, *, testing: bool = False, credentials: str = CREDENTIALS) -> DeliveryError | None:
    """What ``answer`` means (``errors.from_status``), its body shown as its headers say."""
    return from_status(answer.status, answer.body, location=answer.location, retry_after=answer.retry_after,
                       content_type=answer.content_type, content_encoding=answer.content_encoding, testing=testing,
                       credentials=credentials)


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes
    headers: dict[str, str]
    read_timeout: float = READ_TIMEOUT
    """Seconds to wait for each read of the answer (``Target.read_timeout``)."""


class Client:
    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    async def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = checked_session(allow_private=self.allow_private, limit=MAX_IN_FLIGHT,
                                            skip_auto_headers=("User-Agent", "Content-Type"))
            eventloop.shared().on_exit(self._session.close)
        return self._session

    async def _one(self, request: Request) -> Answer | DeliveryError:
        session = await self._open()
        try:
            async with session.request(request.method, request.url, data=request.body, allow_redirects=False,
                                       headers={"User-Agent": USER_AGENT, **request.headers},
                                       timeout=timeouts(request.read_timeout)) as response:
                try:
                    data = await read_answer(response)
                except Exception:
                    data = b""  # the status is the answer; a body that does not arrive does not change it
                headers = response.headers
                return Answer(status=response.status, body=data, location=headers.get("location"),
                              retry_after=headers.get("retry-after"), content_type=headers.get("content-type"),
                              content_encoding=headers.get("content-encoding"))
        except DeliveryError as exc:
            return exc
        except Exception as exc:
            return from_exception(exc, read_timeout=request.read_timeout)

    def send_all(self, requests: list[Request]) -> list[Answer | DeliveryError]:
        """Send every request concurrently; each one's answer, or the error it met, in order."""
        if not requests:
            return []

        async def everything() -> list[Answer | DeliveryError]:
            return list(await asyncio.gather(*(self._one(request) for request in requests)))

        return eventloop.shared().run(everything())

    def send(self, method: str, url: str, *, body: bytes, headers: dict[str, str],
             read_timeout: float = READ_TIMEOUT) -> Answer:
        """One request; raise a DeliveryError when there is no answer."""
        [outcome] = self.send_all([Request(method, url, body, headers, read_timeout)])
        if isinstance(outcome, DeliveryError):
            raise outcome
        return outcome
