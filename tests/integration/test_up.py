"""`tracedrop up --local-bucket`, as a person runs it: one command, in a folder of its own, on free ports.

What it printed is all the test knows (the ingest key, the admin token, the bucket's endpoint and keys), as a person
would; processes are checked by pid, never by name.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import psutil
import pytest
from botocore.config import Config

from tests import stack
from tests.conftest import make_trace, wait_for


@dataclass
class Up:
    """One `tracedrop up` run: its process, its output so far and what it printed once."""

    data: Path
    port: int
    workers: int = 1
    local_bucket: bool = True
    proc: subprocess.Popen[bytes] | None = None
    out: Path = field(default_factory=Path)

    def start(self) -> Up:
        self.out = self.data.parent / f"up-{self.port}-{len(list(self.data.parent.glob('up-*')))}.out"
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "worker.cli", "up", "--data", str(self.data), "--port", str(self.port),
                 "--workers", str(self.workers), *(["--local-bucket"] if self.local_bucket else [])],
                stdout=out, stderr=subprocess.STDOUT, env=stack.tracedrop_env("redis://127.0.0.1:1/0"))
        stack.wait_until(lambda: "Ctrl-C stops everything" in self.text(), timeout=180, what="tracedrop up",
                         proc=self.proc)
        return self

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def printed(self, label: str) -> str:
        found = re.search(rf"^  {label}\s+(.+)$", self.text(), re.MULTILINE)
        assert found, f"{label!r} not in the output:\n{self.text()}"
        return found.group(1).strip()

    def pid(self, name: str, *, again: bool = False) -> int:
        pattern = rf"{name} started{' again' if again else ''} \(pid (\d+)\)"
        pids = re.findall(pattern, self.text())
        assert pids, f"no {pattern!r} in:\n{self.text()}"
        return int(pids[-1])

    def processes(self) -> list[psutil.Process]:
        assert self.proc is not None
        return [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[Up]]:
    started: list[Up] = []
    yield started
    for up in started:  # a failed test leaves nothing running either
        if up.proc is not None and up.proc.poll() is None:
            for process in up.processes():
                if alive(process):
                    process.kill()


def bucket(up: Up) -> Any:
    found = re.match(r"(\S+) at (\S+)", up.printed("Local bucket"))
    keys = re.match(r"access key (\S+), secret key (\S+)", up.printed("Bucket keys"))
    assert found and keys
    client = boto3.client("s3", endpoint_url=found.group(2), region_name="us-east-1",
                          aws_access_key_id=keys.group(1), aws_secret_access_key=keys.group(2),
                          config=Config(request_checksum_calculation="when_required",
                                        response_checksum_validation="when_required"))
    return found.group(1), found.group(2), keys.group(1), keys.group(2), client


def trace_keys(client: Any, name: str) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=name).get("Contents", [])]


def post(url: str, key: str, trace: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/v1/traces", json=trace, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_up_runs_keeps_and_stops_everything(tmp_path: Path, runs: list[Up]) -> None:
    # Given a first `tracedrop up --local-bucket` in an empty folder
    data, port = tmp_path / "data", stack.free_port()
    url = f"http://127.0.0.1:{port}"
    first = Up(data, port).start()
    runs.append(first)
    token, ingest_key = first.printed("Admin token").split()[0], first.printed("Ingest key")
    name, endpoint, access, secret, client = bucket(first)
    assert (data / "tracedrop.env").stat().st_mode & 0o777 == 0o600

    # When the local bucket is saved as a destination through the API and a trace is posted with the printed key
    admin = stack.Admin(url, token)
    destination = admin.destination("default", {"name": "local", "type": "s3", "bucket_name": name,
                                                "region": "us-east-1", "endpoint": endpoint,
                                                "access_key_id": access, "access_secret": secret})
    assert post(url, ingest_key, make_trace(1)).status_code == 202

    # Then it lands in the local bucket
    wait_for(lambda: len(trace_keys(client, name)) == 1 or None, timeout=60, what="the first trace in the bucket")

    # When a worker is killed, then it is started again, and still delivers
    killed = first.pid("worker 1")
    psutil.Process(killed).kill()
    wait_for(lambda: "worker 1 started again" in first.text() or None, timeout=60, what="the worker restarted")
    assert first.pid("worker 1", again=True) != killed
    assert post(url, ingest_key, make_trace(2)).status_code == 202
    wait_for(lambda: len(trace_keys(client, name)) == 2 or None, timeout=90, what="a trace after the restart")

    # When it is stopped with SIGTERM, then no process it started is left
    processes = first.processes()
    assert len(processes) >= 5  # up, redis, seaweedfs, api, worker (and the worker's pool)
    first.terminate()
    assert [p.pid for p in processes if alive(p)] == []

    # Given a second start on the same folder without workers, a trace posted meanwhile is owed
    second = Up(data, port, workers=0).start()
    runs.append(second)
    assert "Ingest key" not in second.text() and token not in second.text()  # no secret printed again
    assert post(url, ingest_key, make_trace(3)).json()["accepted"] == 1
    second.terminate()

    # When it starts again with a worker
    third = Up(data, port).start()
    runs.append(third)

    # Then the destination, the key and the bucket are kept, and the backlog is delivered
    assert third.printed("Local bucket").startswith(f"{name} at {endpoint} ")
    listed = httpx.get(f"{url}/v1/workspaces/default/destinations", headers={"Authorization": f"Bearer {token}"})
    assert [d["id"] for d in listed.json()["destinations"]] == [destination["id"]]
    wait_for(lambda: len(trace_keys(client, name)) == 3 or None, timeout=90, what="the backlog delivered")
    assert post(url, ingest_key, make_trace(4)).status_code == 202
    third.terminate()
    admin.http.close()


def test_its_processes_stop_even_when_it_is_killed(tmp_path: Path, runs: list[Up]) -> None:
    # Given `tracedrop up` running (its Redis, its api, a worker)
    up = Up(tmp_path / "data", stack.free_port(), local_bucket=False).start()
    runs.append(up)
    processes = up.processes()
    assert len(processes) >= 4

    # When it is killed outright (SIGKILL: no chance to stop anything), then every process it started stops too
    assert up.proc is not None
    up.proc.kill()
    up.proc.wait(timeout=10)
    wait_for(lambda: not any(alive(p) for p in processes) or None, timeout=60, what="its processes gone")


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    # Given the api's port held by another program
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        # When tracedrop up is started on it
        done = subprocess.run([sys.executable, "-m", "worker.cli", "up", "--data", str(tmp_path / "d"),
                               "--port", str(port)], capture_output=True, text=True, timeout=60,
                              env=stack.tracedrop_env("redis://127.0.0.1:1/0"))
    # Then it refuses at once, naming the port
    assert done.returncode != 0
    assert f"the api's port {port} (--port) is in use" in done.stderr


def test_without_redis_server_it_names_the_package_to_install(tmp_path: Path) -> None:
    env = {**stack.tracedrop_env("redis://127.0.0.1:1/0"), "PATH": str(tmp_path)}  # a PATH with nothing on it
    done = subprocess.run([sys.executable, "-m", "worker.cli", "up", "--data", str(tmp_path / "d"),
                           "--port", str(stack.free_port())], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "Error: redis-server not found on PATH: install the Debian package redis-server (apt-get install "
        "redis-server), or run `make up`, which does"]
