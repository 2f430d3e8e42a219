"""Webhook delivery against plain HTTP clients posting the same bodies at the same concurrency from one process:
urllib3 from threads, and aiohttp on one event loop.

The receiver is a bare ASGI app under uvicorn in its own process, answering 200 to every POST and counting them. For
each ``batch_size``, tracedrop drains a waiting backlog with one worker process (as the S3 drain figure does), then
a urllib3 pool (from as many threads) and an aiohttp session post the very bodies tracedrop sent (rendered by the
same code) with as many requests in flight as tracedrop had. Rounds alternate, so the machine's noise falls on all
three alike; each figure is the median.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import httpx
import orjson
import urllib3

from bench.workload import WORKSPACE, Stack, trace
from tests import stack
from worker.kinds.webhook import body
from worker.kinds.webhook.writer import REQUESTS_PER_CLAIM, TRACES_PER_CLAIM
from worker.trace import TraceIn, stored_form

SIZES = (1, 50)


async def receiver(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI receiver: counts POSTs; ``GET /count`` answers how many."""
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        while (await receive()).get("more_body"):
            pass
        COUNT[0] += 1
        payload = b""
    else:
        payload = str(COUNT[0]).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


COUNT = [0]


class Receiver:
    def __init__(self, workdir: Any) -> None:
        self.port = stack.free_port()
        self.service = stack.Service("receiver", [sys.executable, "-m", "uvicorn", "bench.webhooks:receiver",
                                                  "--port", str(self.port), "--log-level", "warning",
                                                  "--no-access-log"], workdir / "receiver.log", env=None)
        self.service.start()
        stack.wait_until(lambda: self.count() >= 0, timeout=30, what="receiver", proc=self.service.proc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def count(self) -> int:
        return int(httpx.get(self.url, timeout=5).text)

    def wait(self, count: int, *, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"receiver got {self.count()} of {count} requests")
            time.sleep(0.05)


def concurrency(batch_size: int) -> int:
    """Requests tracedrop has in flight per worker process at this batch size."""
    return max(1, min(REQUESTS_PER_CLAIM, TRACES_PER_CLAIM // batch_size))


def tracedrop_rate(bench: Stack, hook: Receiver, *, batch_size: int, count: int, prefix: str) -> float:
    """Traces/s of one worker process draining ``count`` waiting traces to the receiver."""
    destination = bench.admin.destination(WORKSPACE, {"name": f"hook-{prefix}", "type": "webhook", "url": hook.url,
                                                      "format": "json", "batch_size": batch_size})["id"]
    bench.ingest(count=count, per_request=100, clients=4, prefix=prefix)
    before = hook.count()
    worker = bench.worker(f"hook{prefix}", 1)
    seconds = bench.wait_drained(destination, timeout=900)
    worker.stop()
    bench.delete_destination(destination)
    requests = -(-count // batch_size)
    if hook.count() - before < requests:
        raise RuntimeError(f"webhook: {hook.count() - before} requests for {count} traces at batch {batch_size}")
    return count / seconds


def same_bodies(*, batch_size: int, count: int, prefix: str) -> list[bytes]:
    """The bodies tracedrop sends for these traces (rendered by the same code)."""
    traces = [stored_form(TraceIn.model_validate(trace(i, prefix))) for i in range(count)]
    return [body.encode("json", traces[i:i + batch_size], privacy_mode=False, batched=batch_size > 1)
            for i in range(0, count, batch_size)]


def plain_async_rate(hook: Receiver, *, batch_size: int, count: int, prefix: str) -> float:
    """Traces/s of an aiohttp session posting the same bodies with ``concurrency(batch_size)`` in flight."""
    bodies = same_bodies(batch_size=batch_size, count=count, prefix=prefix)

    async def post_all() -> float:
        connector = aiohttp.TCPConnector(limit=concurrency(batch_size))
        async with aiohttp.ClientSession(connector=connector) as session:
            async def post(data: bytes) -> None:
                async with session.post(hook.url, data=data, headers={"Content-Type": "application/json"}) as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"receiver answered {answer.status}")

            started = time.perf_counter()
            await asyncio.gather(*(post(data) for data in bodies))
            return time.perf_counter() - started

    return count / asyncio.run(post_all())


def plain_rate(hook: Receiver, *, batch_size: int, count: int, prefix: str) -> float:
    """Traces/s of a urllib3 pool posting the same bodies from ``concurrency(batch_size)`` threads."""
    bodies = same_bodies(batch_size=batch_size, count=count, prefix=prefix)
    threads = concurrency(batch_size)
    http = urllib3.PoolManager(maxsize=threads)
    headers = {"Content-Type": "application/json"}

    def post(data: bytes) -> None:
        response = http.request("POST", hook.url, body=data, headers=headers, retries=False)
        if response.status != 200:
            raise RuntimeError(f"receiver answered {response.status}")

    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        list(pool.map(post, bodies))
        seconds = time.perf_counter() - started
    return count / seconds


def rates(bench: Stack, *, counts: dict[int, int], rounds: int = 3) -> dict[str, Any]:
    hook = Receiver(bench.workdir)
    try:
        figures: dict[str, Any] = {}
        for batch_size, count in counts.items():
            ours, plain, plain_async = [], [], []
            for round_ in range(rounds):
                ours.append(tracedrop_rate(bench, hook, batch_size=batch_size, count=count,
                                           prefix=f"h{batch_size}r{round_}"))
                plain.append(plain_rate(hook, batch_size=batch_size, count=count, prefix=f"p{batch_size}r{round_}"))
                plain_async.append(plain_async_rate(hook, batch_size=batch_size, count=count,
                                                    prefix=f"a{batch_size}r{round_}"))
            figures[f"batch_{batch_size}"] = {
                "traces": count, "concurrency": concurrency(batch_size), "tracedrop_per_s": statistics.median(ours),
                "plain_per_s": statistics.median(plain), "plain_async_per_s": statistics.median(plain_async),
                "rounds": {"tracedrop": ours, "plain": plain, "plain_async": plain_async},
                "ratio": statistics.median(ours) / statistics.median(plain),
                "ratio_async": statistics.median(ours) / statistics.median(plain_async)}
        return figures
    finally:
        hook.service.stop()


def describe(figures: dict[str, Any]) -> str:
    return "; ".join(f"batch_size {key.removeprefix('batch_')}: tracedrop {f['tracedrop_per_s']:.0f} traces/s, "
                     f"plain urllib3 threads {f['plain_per_s']:.0f}/s ({f['ratio']:.2f}x), plain aiohttp "
                     f"{f['plain_async_per_s']:.0f}/s ({f['ratio_async']:.2f}x), {f['concurrency']} in flight"
                     for key, f in figures.items())


def main() -> None:
    """``python -m bench.webhooks``: this phase alone, on a stack of its own."""
    bench = Stack.start(beat=False)
    try:
        figures = rates(bench, counts={1: 6000, 50: 20000})
        print(describe(figures))
        print(orjson.dumps(figures).decode())
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
