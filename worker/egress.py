"""Connection-time endpoint check: every connection a destination client opens goes to an address the rules allow.

The one egress fence of every kind. botocore (S3) sends through urllib3 connection pools: ``install`` swaps in
connection classes that resolve the host themselves, check every address (``worker.ssrf.checked_addresses``) and
connect to the address that was checked. The aiohttp clients (S3 delivery and connection test, webhooks) come from
``checked_session``, whose ``CheckedConnector`` does the same for every connection, IP literals included (which
aiohttp never hands to a resolver). So a DNS answer that changes after the destination was saved (DNS rebinding) is
refused when the connection is opened, nothing reaches a second, unchecked answer, and a saved URL that the
current settings refuse (private endpoints turned off) is refused at its next connection. Redirects are never
followed: botocore sends with ``Retry(False)`` and turns S3's region redirects off for custom endpoints; the aiohttp
clients send with ``allow_redirects=False``. A driver that opens its own sockets (a database driver) asks
``connect_address`` for the checked address and connects there. Answers are read up to ANSWER_BYTES and shown up
to EXCERPT_BYTES (worker/excerpts.py).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import io
import socket
import ssl
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import aiohttp
from aiohttp import ClientTimeout
from aiohttp.abc import ResolveResult
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ClientRequest
from aiohttp.tracing import Trace
from botocore.awsrequest import AWSHTTPConnection, AWSHTTPConnectionPool, AWSHTTPSConnection, AWSHTTPSConnectionPool
from urllib3 import HTTPHeaderDict, HTTPResponse
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from worker.ssrf import Resolver, checked_addresses, system_resolver

CONNECT_TIMEOUT = 3
"""Seconds to open a connection to any destination, for deliveries, connection tests and probes alike."""
READ_TIMEOUT = 6
"""Seconds to wait for each read of a destination's answer, unless its kind names a longer wait (a webhook
``Target.read_timeout``: MLflow's)."""
ANSWER_BYTES = 4096
"""At most this much of any answer's body is read, from S3 stores and webhook receivers alike."""
EXCERPT_BYTES = 512
"""At most this much of an answer (its body, a header, a field of an S3 error) is shown in a message or a dead
letter."""


def connect_address(host: str, port: int, *, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    """The address a driver that opens its own sockets connects to for ``host``: the name resolved, every answer
    checked, the first returned. Connect to it and keep ``host`` for TLS (libpq: ``hostaddr=`` beside ``host=``), so
    the connection goes to the address that was checked and never to a second DNS answer. Raises EndpointForbidden,
    or ``socket.gaierror`` for a name that does not resolve."""
    return str(checked_addresses(host, port, allow_private=allow_private, resolve=resolve)[0])


class _Checked:
    """Mixin for urllib3 connections: resolve, check, then connect to the checked address only; read an answer up
    to ANSWER_BYTES."""

    allow_private = False
    _dns_host: str
    port: int
    host: str

    def _new_conn(self) -> socket.socket:
        name = self._dns_host
        try:
            addresses = checked_addresses(name, self.port, allow_private=self.allow_private)
        except OSError as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        failure: Exception | None = None
        for address in addresses:
            self._dns_host = str(address)
            try:
                return super()._new_conn()  # type: ignore[misc, no-any-return]
            except (NewConnectionError, ConnectTimeoutError) as exc:
                failure = exc
            finally:
                self._dns_host = name
        assert failure is not None
        raise failure

    def getresponse(self) -> HTTPResponse:
        """The answer with its body cut at ANSWER_BYTES: a longer body is read that far and the connection closed
        (botocore reads a whole answer before it parses one)."""
        response: HTTPResponse = super().getresponse()  # type: ignore[misc]
        if response.length_remaining is not None and response.length_remaining <= ANSWER_BYTES:
            return response
        data = response.read(ANSWER_BYTES, decode_content=False)
        if response.read(1, decode_content=False):
            response.close()
            self.close()  # type: ignore[attr-defined]
        headers = HTTPHeaderDict(response.headers)
        headers.discard("transfer-encoding")
        headers["content-length"] = str(len(data))
        # the original answer, read to its end or closed, is what tells the pool it may take the connection back
        return HTTPResponse(body=io.BytesIO(data), headers=headers, status=response.status,
                            version=response.version, version_string=response.version_string,
                            reason=response.reason, preload_content=False, decode_content=False,
                            original_response=getattr(response, "_original_response", None),
                            request_url=response.url)


class _HTTP(_Checked, AWSHTTPConnection):
    pass


class _HTTPS(_Checked, AWSHTTPSConnection):
    pass


def _pools(allow_private: bool) -> dict[str, type]:
    http = type("CheckedHTTPConnection", (_HTTP,), {"allow_private": allow_private})
    https = type("CheckedHTTPSConnection", (_HTTPS,), {"allow_private": allow_private})
    return {
        "http": type("CheckedHTTPPool", (AWSHTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("CheckedHTTPSPool", (AWSHTTPSConnectionPool,), {"ConnectionCls": https}),
    }


_POOLS = {allowed: _pools(allowed) for allowed in (False, True)}


def install(client: Any, *, allow_private: bool) -> None:
    """Make every direct connection ``client`` opens go through the check; fail closed if botocore changed shape.

    Through an operator's ``HTTPS_PROXY`` the connection is to the proxy, which resolves the store's name itself:
    the check before connecting still runs, and the proxy's own egress rules apply.
    """
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    manager = getattr(session, "_manager", None)
    if manager is None or not isinstance(getattr(manager, "pool_classes_by_scheme", None), dict):
        raise RuntimeError("botocore's HTTP session has changed shape: cannot check endpoint connections")
    manager.pool_classes_by_scheme = _POOLS[allow_private]


class CheckedConnector(aiohttp.TCPConnector):
    """aiohttp's connector behind the fence. aiohttp hands only names to a resolver and connects to an IP literal
    directly; this connector takes over the one step that turns a request's host into the addresses to connect to
    (``_resolve_host``), for names and literals alike, so every connection it opens goes to addresses
    ``checked_addresses`` allowed, connected to with the host name kept for TLS, and nothing else.

    Through the operator's proxy (``HTTPS_PROXY``) the proxy resolves the endpoint's name: the endpoint is checked
    all the same before each connection, and the proxy, the operator's own, is connected to as configured."""

    def __init__(self, *, allow_private: bool, **options: Any) -> None:
        super().__init__(use_dns_cache=False, **options)
        self.allow_private = allow_private

    async def _resolve_host(self, host: str, port: int,
                            traces: Sequence[Trace] | None = None) -> list[ResolveResult]:
        if _OPERATORS_PROXY.get() == (host, port):
            return await super()._resolve_host(host, port, traces)
        loop = asyncio.get_running_loop()
        addresses = await loop.run_in_executor(None, functools.partial(checked_addresses, host, port,
                                                                       allow_private=self.allow_private))
        return [{"hostname": host, "host": str(address), "port": port,
                 "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST} for address in addresses]

    async def _create_proxy_connection(self, req: ClientRequest, traces: list[Trace], timeout: ClientTimeout
                                       ) -> tuple[asyncio.BaseTransport, ResponseHandler]:
        assert req.url.raw_host is not None and req.port is not None and req.proxy is not None
        await self._resolve_host(req.url.raw_host, req.port)
        proxy = _OPERATORS_PROXY.set((req.proxy.raw_host, req.proxy.port))
        try:
            return await super()._create_proxy_connection(req, traces, timeout)
        finally:
            _OPERATORS_PROXY.reset(proxy)


_OPERATORS_PROXY: ContextVar[tuple[str | None, int | None] | None] = ContextVar("operators_proxy", default=None)


def _aiohttp_unchanged() -> None:
    """Fail closed unless aiohttp still turns every request's host into addresses through ``_resolve_host`` and
    opens proxied connections through ``_create_proxy_connection``."""
    connector = aiohttp.TCPConnector
    if "_resolve_host" not in connector._create_direct_connection.__code__.co_names or \
            "_create_proxy_connection" not in connector._create_connection.__code__.co_names or \
            list(inspect.signature(connector._resolve_host).parameters) != ["self", "host", "port", "traces"]:
        raise RuntimeError("aiohttp's connector has changed shape: cannot check endpoint connections")


async def read_answer(response: aiohttp.ClientResponse) -> bytes:
    """The answer's body, ANSWER_BYTES of it at most: the rest is never read (a connection whose answer was not read
    to its end is closed, not reused)."""
    data = bytearray()
    while len(data) < ANSWER_BYTES and (chunk := await response.content.read(ANSWER_BYTES - len(data))):
        data += chunk
    return bytes(data)


def timeouts(read: float = READ_TIMEOUT) -> aiohttp.ClientTimeout:
    """CONNECT_TIMEOUT to connect, then ``read`` seconds for each read of the answer; a request given its own
    (``session.request(..., timeout=timeouts(longer))``) keeps the same connect timeout."""
    return aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, sock_read=read)


def checked_session(*, allow_private: bool, limit: int, tls: ssl.SSLContext | bool = True,
                    skip_auto_headers: tuple[str, ...] = ()) -> aiohttp.ClientSession:
    """An aiohttp session behind the fence, with the timeouts above, at most ``limit`` connections; made on the
    event loop that will use it. It keeps no cookies and leaves bodies as they came."""
    _aiohttp_unchanged()
    connector = CheckedConnector(allow_private=allow_private, limit=limit, ssl=tls)
    return aiohttp.ClientSession(connector=connector, timeout=timeouts(), auto_decompress=False,
                                 cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=skip_auto_headers or None)
