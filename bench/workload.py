"""What every benchmark shares: a private stack (as the tests start it), trace bodies, ingest, backlog polling."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import redis

from tests import stack
from worker import keys
from worker.document import build_document
from worker.trace import TraceIn, stored_form

WORKSPACE = "bench"
TIMESTAMP = "2026-11-22T10:00:00Z"
EPOCH_S = 1795341600
"""TIMESTAMP in unix seconds: the default template puts a trace at ``2026-11-22/<id>-<EPOCH_S>.json``."""


def trace(i: int, prefix: str = "t") -> dict[str, Any]:
    """A short chat with a long system prompt: ~4 KB stored, an ~8 KB object (the document carries input and
    output twice, at trace and at observation level, as OpenRouter's format does)."""
    return {"id": f"{prefix}-{i}", "timestamp": TIMESTAMP, "model": "openai/gpt-4o",
            "api_key_name": "bench", "usage": {"prompt_tokens": 900, "completion_tokens": 80, "total_tokens": 980},
            "request": {"model": "openai/gpt-4o", "messages": [{"role": "system", "content": "s" * 3550},
                                                              {"role": "user", "content": f"question {i}"}]},
            "response": {"choices": [{"message": {"role": "assistant", "content": "answer " * 20}}]}}


def document(i: int = 0, prefix: str = "t") -> bytes:
    """The object a per-trace destination (default settings) writes for ``trace(i, prefix)``: what the raw PUT
    baseline writes too, since the store's cost depends on the bytes (SeaweedFS compresses JSON it stores)."""
    return orjson.dumps(build_document(stored_form(TraceIn.model_validate(trace(i, prefix))), privacy_mode=False))


def object_key(prefix: str, i: int) -> str:
    return f"2026-11-22/{prefix}-{i}-{EPOCH_S}.json"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class Stack:
    """redis-server, SeaweedFS, the api (and beat, unless told not to) on loopback; workers on demand."""

    workdir: Path
    redis: stack.RedisServer
    store: stack.SeaweedFS
    env: dict[str, str]
    api: stack.Api
    admin: stack.Admin
    key: str
    services: list[stack.Service] = field(default_factory=list)

    @classmethod
    def start(cls, *, beat: bool = True) -> Stack:
        workdir = Path(tempfile.mkdtemp(prefix="tracedrop-bench-"))
        services: list[stack.Service] = []
        try:
            redis = stack.redis_server(workdir)
            services.append(redis)
            store = stack.seaweedfs(workdir)
            services.append(store)
            env = stack.tracedrop_env(redis.url)
            api = stack.api(workdir, env)
            services.append(api)
            if beat:
                services.append(stack.beat(workdir, env))
            admin = stack.Admin(api.url)
            admin.workspace(WORKSPACE)
            key = admin.ingest_key(WORKSPACE)
        except BaseException:
            for service in reversed(services):
                service.stop()
            raise
        return cls(workdir, redis, store, env, api, admin, key, services)

    def stop(self) -> None:
        if "watcher" in self.__dict__:
            self.watcher.close()
        for service in reversed(self.services):
            service.stop()

    def worker(self, name: str, concurrency: int | None) -> stack.Service:
        """A `tracedrop worker` as tests/stack.py starts one (None: its default concurrency)."""
        service = stack.worker(self.workdir, self.env, name=name, concurrency=concurrency)
        self.services.append(service)
        return service

    def destination(self, bucket: str) -> str:
        """A fresh bucket and a per-trace destination writing to it with the default template."""
        self.store.client().create_bucket(Bucket=bucket)
        return str(self.admin.destination(WORKSPACE, stack.s3_body(self.store, bucket))["id"])

    def delete_destination(self, destination: str) -> None:
        self.admin.http.delete(f"/v1/workspaces/{WORKSPACE}/destinations/{destination}").raise_for_status()

    def backlog(self, destination: str) -> int:
        return int(self.admin.status(WORKSPACE, destination)["backlog"]["size"])

    def owed(self, destination: str) -> int:
        """The backlog's size as the status counts it, read straight from Redis: one ZCARD, where a status is a
        request to the api and a Lua script that reads a sample of bodies (a poll every 50 ms of those cost the
        machine about 5% of a drain's CPU, which a measurement of the writer must not spend)."""
        return int(self.watcher.zcard(keys.owed(destination)))

    @cached_property
    def watcher(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url)

    def wait_drained(self, destination: str, *, timeout: float, poll: float = 0.05) -> float:
        """Seconds until the destination's backlog is empty (raises if it is not within ``timeout``)."""
        started = time.perf_counter()
        while self.owed(destination):
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"backlog of {destination} not drained after {timeout:.0f}s")
            time.sleep(poll)
        return time.perf_counter() - started

    def wait_queue_empty(self, *, timeout: float = 120) -> None:
        """Until the workers have taken every Celery message (announcements left from earlier phases)."""
        client = redis.Redis.from_url(self.redis.url)
        try:
            stack.wait_until(lambda: client.llen("tracedrop") == 0, timeout=timeout, what="celery queue")
        finally:
            client.close()

    def ingest(self, *, count: int, per_request: int, clients: int, prefix: str,
               start: int = 0) -> tuple[float, float]:
        """Traces/s accepted and the p99 request latency (s), from ``clients`` concurrent HTTP clients."""
        end = start + count
        bodies = [orjson.dumps({"traces": [trace(j, prefix) for j in range(i, min(i + per_request, end))]})
                  for i in range(start, end, per_request)]
        return self.send(bodies, count=count, clients=clients)

    def send(self, bodies: list[bytes], *, count: int, clients: int, content_type: str = "application/json",
             expect: int = 202) -> tuple[float, float]:
        """Post ``bodies`` (``count`` traces in all) from ``clients`` concurrent clients: traces/s and p99 (s)."""
        latencies: list[float] = []
        local = threading.local()
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": content_type}
        opened: list[httpx.Client] = []

        def send(body: bytes) -> None:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=self.api.url, headers=headers, timeout=60)
                opened.append(local.client)
            began = time.perf_counter()
            response = local.client.post("/v1/traces", content=body)
            latencies.append(time.perf_counter() - began)
            if response.status_code != expect or (expect == 200 and response.content not in (b"", b"{}")):
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:200]}")

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(send, bodies))
        elapsed = time.perf_counter() - started
        for client in opened:
            client.close()
        return count / elapsed, percentile(latencies, 99)


def tree(service: stack.Service) -> list[psutil.Process]:
    """A service's process and all its descendants (a celery worker's pool children)."""
    if service.proc is None or service.proc.poll() is not None:
        return []
    parent = psutil.Process(service.proc.pid)
    return [parent, *parent.children(recursive=True)]


def rss_mb(service: stack.Service) -> float:
    """Resident memory of a service's whole process group, in MiB."""
    total = 0
    for process in tree(service):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / 2**20


def cpu_seconds(service: stack.Service) -> float:
    """User + system CPU seconds used so far by a service's live processes."""
    total = 0.0
    for process in tree(service):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all processes, all cores) since boot."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))
