"""A private tracedrop stack on loopback: redis-server, SeaweedFS, api, workers, beat.

Used by the tests, the demo and the benchmarks. Every process is started on free ports under a temporary
directory and stopped by whoever started it; nothing here touches the machine's shared services.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

ADMIN_KEY = "tdadmin"
WRITER_KEY = "tdwriter"
ADMIN_TOKEN = "test-admin-token-0123456789abcdefghij"
"""The suite's admin token (an api refuses one under 32 characters)."""


class StackError(RuntimeError):
    """A service of the stack could not start: the run fails loudly, it never skips."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_block(size: int) -> int:
    """A base port with ``size`` consecutive free ports (and the same +10000, where SeaweedFS puts gRPC)."""
    for _ in range(200):
        base = 20000 + secrets.randbelow(900) * 20
        if all(_port_free(base + i) and _port_free(base + 10000 + i) for i in range(size)):
            return base
    raise StackError("no block of free ports found")


def wait_until(check: Any, *, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{what}: process exited with {proc.returncode}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise StackError(f"{what}: not ready after {timeout:.0f}s")


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        raise StackError(f"{name} not found: install it (make test installs everything it needs)")
    return found


RECEIVERS = Path(__file__).resolve().parent.parent / ".receivers"
"""The virtualenvs of the real receivers the tests run (Makefile: receivers), one per tool."""


def receiver_program(tool: str, program: str) -> str:
    """A program from a real receiver's own virtualenv, e.g. ``receiver_program("phoenix", "phoenix")``."""
    found = RECEIVERS / tool / "bin" / program
    if not found.exists():
        raise StackError(f"{found} not found: `make receivers` installs {tool} (make test does it first)")
    return str(found)


@dataclass
class Service:
    name: str
    args: list[str]
    log: Path
    env: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a celery worker's children too) and reap it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class RedisServer(Service):
    port: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        super().start()
        import redis

        wait_until(lambda: redis.Redis(port=self.port, socket_timeout=1).ping(), timeout=20,
                   what="redis-server", proc=self.proc)


def redis_server(workdir: Path, *, fsync: str = "everysec", port: int | None = None,
                 replica_of: int | None = None) -> RedisServer:
    port = port or free_port()
    data = workdir / f"redis-{port}"
    data.mkdir(parents=True, exist_ok=True)
    args = [_binary("redis-server"), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data),
            "--appendonly", "yes", "--appendfsync", fsync, "--save", "", "--maxmemory-policy", "noeviction",
            "--protected-mode", "yes"]
    if replica_of is not None:
        args += ["--replicaof", "127.0.0.1", str(replica_of)]
    server = RedisServer("redis", args, workdir / f"redis-{port}.log", port=port)
    server.start()
    return server


@dataclass
class SentinelSet:
    """A Redis master, its replicas and the sentinels that watch them, all on loopback."""

    master_name: str
    servers: list[RedisServer]
    sentinels: list[RedisServer]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.master_name}/0"

    def master_port(self) -> int:
        """The master's port, as the sentinels' majority says now."""
        import redis

        answers = []
        for sentinel in self.sentinels:
            with contextlib.suppress(redis.RedisError):
                answers.append(int(redis.Redis(port=sentinel.port, socket_timeout=1).execute_command(
                    "SENTINEL", "get-master-addr-by-name", self.master_name)[1]))
        return max(set(answers), key=answers.count)

    def server(self, port: int) -> RedisServer:
        return next(s for s in self.servers if s.port == port)

    def stop(self) -> None:
        for service in self.sentinels + self.servers:
            service.stop()


def sentinel_set(workdir: Path, *, replicas: int = 2, sentinels: int = 3, down_after_ms: int = 1000) -> SentinelSet:
    """A master and ``replicas`` replicas (AOF each), watched by ``sentinels`` sentinels (quorum: a majority) that
    fail over ``down_after_ms`` after the master stops answering; started and ready (each sentinel knows every
    replica and every other sentinel)."""
    import redis

    name = "td"
    master = redis_server(workdir)
    servers = [master] + [redis_server(workdir, replica_of=master.port) for _ in range(replicas)]
    watchers = []
    for _ in range(sentinels):
        port = free_port()
        data = workdir / f"sentinel-{port}"
        data.mkdir(parents=True, exist_ok=True)
        config = data / "sentinel.conf"  # a sentinel rewrites its own file: one each
        config.write_text(f"port {port}\nbind 127.0.0.1\ndir {data}\n"
                          f"sentinel monitor {name} 127.0.0.1 {master.port} {sentinels // 2 + 1}\n"
                          f"sentinel down-after-milliseconds {name} {down_after_ms}\n"
                          f"sentinel failover-timeout {name} 10000\n")
        watcher = RedisServer("sentinel", [_binary("redis-server"), str(config), "--sentinel"],
                              workdir / f"sentinel-{port}.log", port=port)
        watcher.start()
        watchers.append(watcher)
    found = SentinelSet(name, servers, watchers)

    def ready() -> bool:
        for watcher in watchers:
            client = redis.Redis(port=watcher.port, socket_timeout=1)
            if (len(client.execute_command("SENTINEL", "replicas", name)) < replicas
                    or len(client.execute_command("SENTINEL", "sentinels", name)) < sentinels - 1):
                return False
        return True

    wait_until(ready, timeout=60, what="sentinels that know every replica and each other")
    return found


@dataclass
class SeaweedFS(Service):
    port: int = 0
    identities: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    config: Path = Path()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        super().start()
        wait_until(lambda: httpx.get(self.endpoint, timeout=1).status_code < 500, timeout=90,
                   what="SeaweedFS S3", proc=self.proc)
        wait_until(self._writable, timeout=60, what="SeaweedFS volumes", proc=self.proc)

    def _writable(self) -> bool:
        client = self.client()
        if "ready-check" not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket="ready-check")
        client.put_object(Bucket="ready-check", Key="ready", Body=b"1")
        return True

    def restart(self, identities: dict[str, tuple[str, list[str]]] | None = None) -> None:
        """Stop and start again on the same ports and data, optionally with other identities."""
        self.stop()
        if identities is not None:
            self.identities = identities
            write_identities(self.config, identities)
        self.start()

    def client(self, identity: str = ADMIN_KEY) -> Any:
        access, secret = identity, self.identities[identity][0]
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=access, aws_secret_access_key=secret,
                            config=Config(request_checksum_calculation="when_required",
                                          response_checksum_validation="when_required",
                                          retries={"max_attempts": 3}))

    def secret(self, identity: str = ADMIN_KEY) -> str:
        return self.identities[identity][0]

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object under a prefix, key to bytes."""
        client = self.client()
        found: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        return found

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        client = self.client()
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return keys


def write_identities(config: Path, identities: dict[str, tuple[str, list[str]]]) -> None:
    config.write_text(json.dumps({"identities": [
        {"name": name, "credentials": [{"accessKey": name, "secretKey": secret}], "actions": actions}
        for name, (secret, actions) in identities.items()
    ]}))


def seaweedfs(workdir: Path, *, identities: dict[str, tuple[str, list[str]]] | None = None) -> SeaweedFS:
    """SeaweedFS ``weed mini`` on loopback, every port moved, telemetry off, identities from -s3.config."""
    base = free_port_block(14)
    data = workdir / f"seaweed-{base}"
    data.mkdir(parents=True, exist_ok=True)
    identities = identities or {}
    identities.setdefault(ADMIN_KEY, (secrets.token_hex(16), ["Admin", "Read", "Write", "List", "Tagging"]))
    config = data / "s3.json"
    write_identities(config, identities)
    ports = {"master.port": 1, "volume.port": 3, "filer.port": 5, "s3.port": 7, "admin.port": 9,
             "s3.port.iceberg": 11, "s3.port.lance": 12, "metricsPort": 13, "master.port.grpc": 2,
             "volume.port.grpc": 4, "filer.port.grpc": 6, "s3.port.grpc": 8, "admin.port.grpc": 10}
    args = [_binary("weed"), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-webdav=false", "-admin.ui=false", "-s3.autoCreateBucket=false",
            # one collection (a few volumes) per bucket: the suite makes hundreds, more than the slots mini derives
            "-volume.max=4000", "-master.volumeSizeLimitMB=64",
            f"-s3.config={config}",
            *(f"-{name}={base + offset}" for name, offset in ports.items())]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ADMIN_KEY, "AWS_SECRET_ACCESS_KEY": identities[ADMIN_KEY][0]}
    server = SeaweedFS("seaweedfs", args, workdir / f"seaweed-{base}.log", env=env, port=base + 7,
                       identities=identities, config=config)
    server.start()
    return server


def tracedrop_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEDROP_", "AWS_"))}
    env.update({
        "TRACEDROP_REDIS_URL": redis_url,
        "TRACEDROP_ADMIN_TOKEN": ADMIN_TOKEN,
        "TRACEDROP_SECRET_KEY": "test-secret-key-not-for-production",
        "TRACEDROP_ALLOW_PRIVATE_ENDPOINTS": "true",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def _tracedrop() -> str:
    return _binary("tracedrop")


@dataclass
class Api(Service):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        super().start()
        wait_until(lambda: httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200, timeout=30,
                   what="tracedrop api", proc=self.proc)


def api_args(port: int) -> list[str]:
    return [_tracedrop(), "api", "--port", str(port)]


def api(workdir: Path, env: dict[str, str], *, port: int | None = None) -> Api:
    port = port or free_port()
    server = Api("api", api_args(port), workdir / f"api-{port}.log", env=env, port=port)
    server.start()
    return server


def worker(workdir: Path, env: dict[str, str], *, name: str, concurrency: int | None = 2) -> Service:
    """A `tracedrop worker` with ``concurrency`` pool processes (None: its default, one per CPU)."""
    args = [_tracedrop(), "worker", *([f"--concurrency={concurrency}"] if concurrency else []), f"--hostname={name}@%h"]
    service = Service(f"worker-{name}", args, workdir / f"worker-{name}.log", env=env)
    service.start()
    log = service.log
    wait_until(lambda: b"ready." in log.read_bytes(), timeout=60, what=f"worker {name}", proc=service.proc)
    return service


def beat(workdir: Path, env: dict[str, str], *, name: str = "beat") -> Service:
    service = Service(name, [_tracedrop(), "beat"], workdir / f"{name}.log", env=env)
    service.start()
    return service


class Admin:
    """The admin API, as an operator's script would call it."""

    def __init__(self, base_url: str, token: str = ADMIN_TOKEN) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def workspace(self, name: str, *, broadcast_enabled: bool = True) -> None:
        response = self.http.put(f"/v1/workspaces/{name}", json={"broadcast_enabled": broadcast_enabled})
        response.raise_for_status()

    def ingest_key(self, workspace: str, name: str = "gateway") -> str:
        response = self.http.post(f"/v1/workspaces/{workspace}/ingest-keys", json={"name": name})
        response.raise_for_status()
        return str(response.json()["key"])

    def destination(self, workspace: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"/v1/workspaces/{workspace}/destinations", json=body)
        if response.status_code != 201:
            raise AssertionError(f"destination not created: {response.status_code} {response.text}")
        return dict(response.json())

    def status(self, workspace: str, destination_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/workspaces/{workspace}/destinations/{destination_id}/status")
        response.raise_for_status()
        return dict(response.json())


def s3_body(store: SeaweedFS, bucket: str, **extra: Any) -> dict[str, Any]:
    """A destination body for a bucket of this SeaweedFS, as the admin identity."""
    return {"name": bucket, "type": "s3", "bucket_name": bucket, "region": "us-east-1",
            "endpoint": store.endpoint, "access_key_id": ADMIN_KEY, "access_secret": store.secret(), **extra}
