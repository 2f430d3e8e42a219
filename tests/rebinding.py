"""DNS rebinding for in-process tests, which never connect anywhere but loopback.

A rebinding name answers a public address to its first lookup (the check before connecting passes) and loopback to
every later one (the lookup a connection makes). Any connection to an address that is not loopback is refused before
it leaves the machine and counted, so even a fence that connected to the first answer would reach nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from worker.ssrf import unmapped

PUBLIC = "93.184.216.34"
"""The first answer: a public address, never connected to."""


class Rebinding:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, *, then: str = "127.0.0.1") -> None:
        self.name = name
        self.answers = [PUBLIC, then]
        self.lookups = 0
        self.escaped: list[Any] = []
        """Connections refused because they would have left the machine."""
        lookup, connect = socket.getaddrinfo, socket.socket.connect

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host != name:
                return lookup(host, port, *args, **kwargs)
            self.lookups += 1
            answer = self.answers[min(self.lookups, len(self.answers)) - 1]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, int(port)))]

        def guarded(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and \
                    not unmapped(ipaddress.ip_address(str(address[0]).split("%")[0])).is_loopback:
                self.escaped.append(address)
                raise ConnectionRefusedError(f"connection to {address[0]} refused by the test")
            return connect(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", guarded)
