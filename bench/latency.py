"""End-to-end latency as a user sees it: from the POST that carried a trace to a HEAD of its object answering 200.

The watcher must not become the load: about 10 traces a second are watched whatever the rate, HEADs go out from
one asyncio loop (aiohttp, botocore's signer, 16 in flight), and a watched key is polled every fifth of its age
(10-200 ms), so a latency is read at most 20% (+10 ms) late. The outbox's own accept -> written histogram (Redis
server clock, every trace) is read alongside as a cross-check.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from typing import Any

import httpx
import orjson
from redis import Redis

from bench.lean_put import AsyncPut
from bench.workload import Stack, cpu_seconds, object_key, percentile, trace
from tests import stack
from worker import keys

GIVE_UP = 30.0
"""Seconds after which a watched trace counts as missing."""


class Watcher:
    """Polls watched keys with HEAD from one event loop in a thread; a latency ends at the HEAD that found it."""

    def __init__(self, bench: Stack, bucket: str) -> None:
        self.client = AsyncPut(bench.store.endpoint, stack.ADMIN_KEY, bench.store.secret(), limit=16)
        self.bucket = bucket
        self.latencies: list[float] = []
        self.missing = 0
        self.heads = 0
        self.jobs: list[Future[None]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.client.open(), self.loop).result()

    def watch(self, key: str, sent: float) -> None:
        self.jobs.append(asyncio.run_coroutine_threadsafe(self._poll(key, sent), self.loop))

    async def _poll(self, key: str, sent: float) -> None:
        while (age := time.perf_counter() - sent) < GIVE_UP:
            await asyncio.sleep(min(0.2, max(0.01, age / 5)))
            self.heads += 1
            if await self.client.exists(self.bucket, key):
                self.latencies.append(time.perf_counter() - sent)
                return
        self.missing += 1

    def close(self) -> None:
        for job in self.jobs:
            job.result(timeout=GIVE_UP + 10)
        asyncio.run_coroutine_threadsafe(self.client.close(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def histogram(redis: Redis, destination: str) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in redis.hgetall(keys.histogram(destination)).items()}


def server_side(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Mean and the share within 0.25 s / 1 s of the outbox's accept -> written latency, over the window."""
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    total = sum(v for k, v in delta.items() if k != "sum")
    if not total:
        return {"count": 0}
    within = {bound: sum(v for k, v in delta.items() if k not in ("sum", "+Inf") and float(k) <= bound) / total
              for bound in (0.25, 1.0)}
    return {"count": total, "mean_ms": delta.get("sum", 0.0) / total * 1000,
            "within_250ms": within[0.25], "within_1s": within[1.0]}


def steady_load(bench: Stack, destination: str, bucket: str, worker: stack.Service, *, rate: float,
                seconds: float, per_request: int, prefix: str, senders: int = 4,
                watched_per_s: float = 10) -> dict[str, Any]:
    """POST ``per_request`` traces at a time at ``rate`` traces/s for ``seconds`` from ``senders`` threads.

    Returns p50/p99 of the watched traces' latency (ms), the rate actually sent, how many never appeared, the
    server-side histogram over the window, and the cores the worker and SeaweedFS used meanwhile."""
    watcher = Watcher(bench, bucket)
    redis = Redis.from_url(bench.redis.url)
    requests = max(1, int(rate * seconds / per_request))
    interval = per_request / rate
    watch_every = max(1, round(rate / watched_per_s))
    headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
    errors: list[str] = []
    started = time.perf_counter() + 0.2

    def send(lane: int) -> None:
        with httpx.Client(base_url=bench.api.url, timeout=30, headers=headers) as http:
            for r in range(lane, requests, senders):
                time.sleep(max(0.0, started + r * interval - time.perf_counter()))
                first = r * per_request
                body = orjson.dumps({"traces": [trace(first + j, prefix) for j in range(per_request)]})
                sent = time.perf_counter()
                response = http.post("/v1/traces", content=body)
                if response.status_code != 202:
                    errors.append(f"ingest answered {response.status_code}: {response.text[:200]}")
                    return
                for j in range(per_request):
                    if (first + j) % watch_every == 0:
                        watcher.watch(object_key(prefix, first + j), sent)

    before = histogram(redis, destination)
    cpu = {"worker": cpu_seconds(worker), "seaweedfs": cpu_seconds(bench.store), "api": cpu_seconds(bench.api)}
    lanes = [threading.Thread(target=send, args=(lane,), daemon=True) for lane in range(senders)]
    try:
        for lane in lanes:
            lane.start()
        for lane in lanes:
            lane.join(timeout=seconds * 4 + 60)
        achieved = requests * per_request / (time.perf_counter() - started)
        cores = {name: (cpu_seconds(service) - cpu[name]) / (time.perf_counter() - started)
                 for name, service in (("worker", worker), ("seaweedfs", bench.store), ("api", bench.api))}
        if errors:
            raise RuntimeError(errors[0])
    finally:
        watcher.close()
    bench.wait_drained(destination, timeout=120)
    server = server_side(before, histogram(redis, destination))
    redis.close()
    values = watcher.latencies
    return {"rate_per_s": achieved, "target_rate_per_s": rate, "p50_ms": percentile(values, 50) * 1000,
            "p99_ms": percentile(values, 99) * 1000, "max_ms": max(values, default=float("nan")) * 1000,
            "watched": len(values), "missing": watcher.missing, "heads": watcher.heads, "server": server,
            "cores": cores}


def describe(figures: dict[str, Any]) -> str:
    server = figures["server"]
    text = f"p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms ({figures['watched']} watched"
    if figures["missing"]:
        text += f", {figures['missing']} never seen"
    text += ")"
    if server.get("count"):
        text += f"; outbox: mean {server['mean_ms']:.0f} ms, {server['within_1s']:.1%} within 1 s"
    return text
