"""DNS rebinding for in-process tests, which never connect anywhere but loopback.

A rebinding name answers a public address to its first lookup (the check before connecting passes) and loopback to
every later one (the lookup a connection makes). ``OffLoopbackGuard`` refuses, before it leaves the machine, any
connection to an address that is not loopback and records it, so even a fence that connected to the first answer (or
to a metadata address) would reach nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from worker.ssrf import unmapped

PUBLIC = "93.184.216.34"
"""The first answer: a public address, never connected to."""


class OffLoopbackGuard:
    """Refuses, and records, every connection this process would open to an address that is not loopback."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempted: list[Any] = []
        connect = socket.socket.connect

        def guarded(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and \
                    not unmapped(ipaddress.ip_address(str(address[0]).split("%")[0])).is_loopback:
                self.attempted.append(address)
                raise ConnectionRefusedError(f"connection to {address[0]} refused by the test")
            return connect(sock, address)

        monkeypatch.setattr(socket.socket, "connect", guarded)


class Rebinding(OffLoopbackGuard):
    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, *, then: str = "127.0.0.1") -> None:
        super().__init__(monkeypatch)
        self.name = name
        self.answers = [PUBLIC, then]
        self.lookups = 0
        lookup = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host != name:
                return lookup(host, port, *args, **kwargs)
            self.lookups += 1
            answer = self.answers[min(self.lookups, len(self.answers)) - 1]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, int(port)))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
