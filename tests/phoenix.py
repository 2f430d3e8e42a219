"""A real Arize Phoenix for the tests: ``phoenix serve`` from its own virtualenv (``make receivers``), on free loopback
ports, its working directory (SQLite) in a temporary folder, telemetry and every fetch from the internet off.

Every listener of it is on loopback: HTTP by ``PHOENIX_HOST``, gRPC by tests/phoenix_serve.py (Phoenix has no
setting for it); ``listeners`` reads what the process listens on, from /proc, so a test can hold it to that. With
``auth``, Phoenix runs with authentication on and ``admin_secret`` is a Bearer token that may create API keys
(``PHOENIX_ADMIN_SECRET``). Stopped by its process group.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.stack import Service, free_port, receiver_program, wait_until

STARTUP_TIMEOUT = 240
"""Seconds Phoenix may take to import, migrate its database and answer (36 to 96 s seen on a shared 2-core machine)."""
LAUNCHER = Path(__file__).with_name("phoenix_serve.py")


@dataclass
class Phoenix(Service):
    port: int = 0
    grpc_port: int = 0
    admin_secret: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        super().start()
        wait_until(lambda: httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200, timeout=STARTUP_TIMEOUT,
                   what=f"Phoenix (log: {self.log})", proc=self.proc)

    def http(self) -> httpx.Client:
        """A client of Phoenix's REST API, as its admin when authentication is on."""
        headers = {"Authorization": f"Bearer {self.admin_secret}"} if self.admin_secret else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def create_api_key(self, name: str) -> str:
        """A new system API key (``POST /v1/system/api_keys``, as the admin)."""
        with self.http() as client:
            answer = client.post("/v1/system/api_keys", json={"data": {"name": name}})
        answer.raise_for_status()
        return str(answer.json()["data"]["key"])

    def listeners(self) -> list[tuple[str, int]]:
        """(address, port) of every TCP socket the process listens on."""
        assert self.proc is not None
        inodes = set()
        for fd in Path(f"/proc/{self.proc.pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
        found = []
        for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
            for line in Path(f"/proc/{self.proc.pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    address, port = fields[1].split(":")
                    found.append((_address(address, family), int(port, 16)))
        return found


def _address(hex_address: str, family: int) -> str:
    """An address as /proc/net/tcp{,6} writes it (network order in host-endian 32-bit words) -> its text."""
    raw = bytes.fromhex(hex_address)
    ordered = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, ordered)


def phoenix(workdir: Path, *, auth: bool = False) -> Phoenix:
    port, grpc_port = free_port(), free_port()
    home = workdir / f"phoenix-{port}"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "OTEL_"))}
    env.update({
        "PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_WORKING_DIR": str(home), "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",  # no fonts, telemetry or WASM sandbox download
        "PHOENIX_LOG_MIGRATIONS": "false", "PYTHONUNBUFFERED": "1",
    })
    admin_secret = None
    if auth:
        admin_secret = "admin1-" + secrets.token_hex(16)
        env.update({"PHOENIX_ENABLE_AUTH": "true", "PHOENIX_SECRET": "Secret1" + secrets.token_hex(16),
                    "PHOENIX_ADMIN_SECRET": admin_secret})
    args = [receiver_program("phoenix", "python"), "-I", str(LAUNCHER)]  # -I: not this folder on sys.path
    server = Phoenix("phoenix", args, workdir / f"phoenix-{port}.log", env=env, port=port, grpc_port=grpc_port,
                     admin_secret=admin_secret)
    server.start()
    return server
