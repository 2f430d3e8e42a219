"""Connection-time endpoint check: every connection a destination client opens goes to an address the rules allow.

The one egress fence of every kind. botocore (S3) sends through urllib3 connection pools: ``install`` swaps in
connection classes that resolve the host themselves, check every address (``worker.ssrf.checked_addresses``) and
connect to the address that was checked. The aiohttp clients (S3 delivery and connection test, webhooks) come from
``checked_session``, which resolves through ``CheckedResolver`` and does the same. So a DNS answer that changes after
the destination was saved (DNS rebinding) is refused when the connection is opened, and nothing reaches a second,
unchecked answer. Redirects are never followed: botocore sends with ``Retry(False)`` and turns S3's region redirects
off for custom endpoints; the aiohttp clients send with ``allow_redirects=False``. A driver that opens its own sockets
(a database driver) asks ``connect_address`` for the checked address and connects there.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from botocore.awsrequest import AWSHTTPConnection, AWSHTTPConnectionPool, AWSHTTPSConnection, AWSHTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from worker.ssrf import Resolver, checked_addresses, system_resolver

CONNECT_TIMEOUT = 3
"""Seconds to open a connection to any destination, for deliveries, connection tests and probes alike."""
READ_TIMEOUT = 6
"""Seconds to wait for each read of a destination's answer."""


def connect_address(host: str, port: int, *, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    """The address a driver that opens its own sockets connects to for ``host``: the name resolved, every answer
    checked, the first returned. Connect to it and keep ``host`` for TLS (libpq: ``hostaddr=`` beside ``host=``), so
    the connection goes to the address that was checked and never to a second DNS answer. Raises EndpointForbidden,
    or ``socket.gaierror`` for a name that does not resolve."""
    return str(checked_addresses(host, port, allow_private=allow_private, resolve=resolve)[0])


class _Checked:
    """Mixin for urllib3 connections: resolve, check, then connect to the checked address only."""

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


class CheckedResolver(AbstractResolver):
    """aiohttp's resolver: every address a name resolves to is checked (EndpointForbidden otherwise)
    and aiohttp connects to exactly the addresses returned, with the host name for TLS. So the same rules and the
    same pinning hold for every aiohttp session as for botocore's pools."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        addresses = await loop.run_in_executor(None, lambda: checked_addresses(host, port,
                                                                             allow_private=self.allow_private))
        return [{"hostname": host, "host": str(address), "port": port,
                 "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST} for address in addresses]

    async def close(self) -> None:
        pass


def checked_session(*, allow_private: bool, limit: int, tls: ssl.SSLContext | bool = True,
                    skip_auto_headers: tuple[str, ...] = ()) -> aiohttp.ClientSession:
    """An aiohttp session behind the fence, with the timeouts above, at most ``limit`` connections; made on the
    event loop that will use it. It keeps no cookies and leaves bodies as they came."""
    connector = aiohttp.TCPConnector(resolver=CheckedResolver(allow_private=allow_private), limit=limit,
                                     use_dns_cache=False, ssl=tls)
    timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                 cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=skip_auto_headers or None)
