"""A destination's bucket over HTTP: PutObject, HeadBucket and DeleteObject, each signed with botocore's SigV4
signer and sent with aiohttp on this process's event loop (worker/eventloop.py), behind the egress fence.

Per-trace delivery and the connection test both write through here, with the settings boto3 had: path-style URLs
for a custom endpoint and virtual-host style on AWS, the payload signed, TLS verified against botocore's CA bundle
(or ``AWS_CA_BUNDLE``), ``HTTPS_PROXY`` honoured, the egress timeouts, no retries (the outbox retries), no
redirects followed (on AWS a bucket's region answer is followed once, as boto3 did), and ``Expect: 100-continue``
only for bodies over EXPECT_CONTINUE_BYTES. Answers are read up to ``egress.ANSWER_BYTES``; answers and failures are
mapped by errors.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote
from xml.sax.saxutils import unescape

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpsession import get_cert_path
from yarl import URL

from worker import eventloop
from worker.egress import ANSWER_BYTES, checked_session, read_answer
from worker.errors import DeliveryError, DestinationError
from worker.excerpts import inflated
from worker.kinds.s3.config import S3Config
from worker.kinds.s3.errors import from_answer, from_transport
from worker.ssrf import check_endpoint

MAX_IN_FLIGHT = 64
"""PUTs in flight at once per claimed batch; a process's connections to S3 stores are capped at the same number
(two lanes' batches share them)."""
EXPECT_CONTINUE_BYTES = 1024 * 1024
"""Bodies larger than this are sent only after the store answered ``100 Continue``."""
USER_AGENT = "tracedrop"
_XML_FIELD = re.compile(rb"<(Code|Message|Region)>([^<]*)</\1>")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    """Case-insensitive names."""
    body: bytes
    """The first ``egress.ANSWER_BYTES`` of the body at most."""


class Bucket:
    """One destination's bucket and credentials; its coroutines run on the shared event loop."""

    def __init__(self, config: S3Config, *, allow_private: bool) -> None:
        if config.endpoint:
            check_endpoint(config.endpoint, allow_private=allow_private)
        self.name = config.bucket_name
        self.endpoint = config.endpoint
        self.region = config.region or "us-east-1"
        self.allow_private = allow_private
        self.credentials = Credentials(config.access_key_id, config.access_secret.get_secret_value(),
                                       config.session_token.get_secret_value() if config.session_token else None)
        self.proxy: URL | None = None
        self.proxy_auth: aiohttp.BasicAuth | None = None
        with contextlib.suppress(LookupError):  # read once: trust_env reads the environment at every request
            self.proxy, self.proxy_auth = get_env_proxy_for_url(URL(self.url()))

    def url(self, key: str = "") -> str:
        path = quote(key, safe="/~")
        if self.endpoint:
            return f"{self.endpoint}/{self.name}/{path}" if key else f"{self.endpoint}/{self.name}"
        if "." in self.name:  # a dotted name does not match the wildcard certificate of virtual hosts
            return f"https://s3.{self.region}.amazonaws.com/{self.name}/{path}"
        return f"https://{self.name}.s3.{self.region}.amazonaws.com/{path}"

    def put_all(self, objects: Sequence[Callable[[], tuple[str, bytes]]], *,
                content_type: str = "application/json") -> list[DeliveryError | None]:
        """PUT every object, MAX_IN_FLIGHT at a time; what each met, None when it was written, in order.

        An object is a function that makes its ``(key, body)`` (or raises a DeliveryError), called only when its PUT
        can go out: so making objects interleaves with earlier PUTs' answers on the loop, as in a plain async
        client, instead of all of them waiting for the first."""
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one(make: Callable[[], tuple[str, bytes]]) -> DeliveryError | None:
            async with gate:
                try:
                    key, body = make()
                    await self.put(key, body, content_type)
                except DeliveryError as exc:
                    return exc
                return None

        async def everything() -> list[DeliveryError | None]:
            return list(await asyncio.gather(*(one(make) for make in objects)))

        return eventloop.shared().run(everything()) if objects else []

    async def put(self, key: str, body: bytes, content_type: str = "application/json") -> None:
        """PutObject; raise a DeliveryError unless the store took the object (a 200 with an ETag)."""
        answer = await self._send("PUT", key, body, {"Content-Type": content_type})
        if answer.status != 200:
            raise _error(answer, key)
        if "etag" not in answer.headers:
            raise DestinationError("The endpoint accepted the write without an ETag, not like an S3 API: check the "
                                   "endpoint URL.", code="incompatible_endpoint", key=key)

    async def exists(self) -> bool | None:
        """HeadBucket's word on whether the bucket exists: True, False, or None when the store will not say."""
        try:
            answer = await self._send("HEAD", "", b"", {})
        except DeliveryError:
            return None
        if answer.status == 200:
            return True
        if answer.status == 404:
            return False
        return True if answer.status in (301, 400) and "x-amz-bucket-region" in answer.headers else None

    async def delete_quietly(self, key: str) -> None:
        """Delete an object if the credentials may; a refused or failed delete is not an error."""
        with contextlib.suppress(DeliveryError):
            await self._send("DELETE", key, b"", {})

    async def _send(self, method: str, key: str, body: bytes, headers: dict[str, str]) -> Answer:
        answer = await self._once(method, key, body, headers)
        region = answer.headers.get("x-amz-bucket-region")
        if not self.endpoint and answer.status in (301, 400) and region and region != self.region:
            self.region = region  # AWS told the bucket's region: sign for it from now on, as boto3 does
            answer = await self._once(method, key, body, headers)
        return answer

    async def _once(self, method: str, key: str, body: bytes, headers: dict[str, str]) -> Answer:
        url = self.url(key)
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        S3SigV4Auth(self.credentials, "s3", self.region).add_auth(request)
        session = await _session(self.allow_private)
        large = len(body) > EXPECT_CONTINUE_BYTES
        data = io.BytesIO(body) if large else body or None  # aiohttp sends a large body from a stream in chunks
        try:
            async with session.request(method, URL(url, encoded=True), data=data, allow_redirects=False,
                                       expect100=large, proxy=self.proxy,
                                       proxy_auth=self.proxy_auth,
                                       headers={**dict(request.headers.items()), "User-Agent": USER_AGENT}
                                       ) as response:
                return Answer(response.status, response.headers, await read_answer(response))
        except Exception as exc:
            raise from_transport(exc, key=key or None) from exc


def unanswered(error: DeliveryError) -> bool:
    """Whether a request that failed with ``error`` went out and got no answer (a read timeout, a connection the
    store closed): the store may have carried it out all the same."""
    cause = error.__cause__
    return (isinstance(cause, aiohttp.ServerTimeoutError | aiohttp.ServerDisconnectedError | asyncio.TimeoutError)
            and not isinstance(cause, aiohttp.ConnectionTimeoutError))


def _error(answer: Answer, key: str) -> DeliveryError:
    body = inflated(answer.body, answer.headers.get("content-encoding"), limit=ANSWER_BYTES) or b""
    fields = {name.decode(): unescape(value.decode("utf-8", "replace")) for name, value in _XML_FIELD.findall(body)}
    return from_answer(answer.status, answer.headers, code=fields.get("Code") or str(answer.status),
                       message=fields.get("Message"), region=fields.get("Region"), key=key)


_sessions: dict[tuple[asyncio.AbstractEventLoop, bool], aiohttp.ClientSession] = {}


async def _session(allow_private: bool) -> aiohttp.ClientSession:
    """This process's session for S3 stores (one connection pool for every destination's bucket)."""
    key = (asyncio.get_running_loop(), allow_private)
    session = _sessions.get(key)
    if session is None:
        tls = ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True))
        session = _sessions[key] = checked_session(allow_private=allow_private, limit=MAX_IN_FLIGHT, tls=tls)
        eventloop.shared().on_exit(session.close)
    return session
