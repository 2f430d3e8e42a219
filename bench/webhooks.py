"""Webhook delivery against a plain HTTP client posting the same bodies at the same concurrency from one process.

The receiver is a bare ASGI app under uvicorn in its own process, answering 200 to every POST and counting them. For
each ``batch_size``, tracedrop drains a waiting backlog with one worker process (as the S3 drain figure does), then
a urllib3 pool posts the very bodies tracedrop sent (rendered by the same code) from as many threads as tracedrop
had requests in flight. Rounds alternate, so the machine's noise falls on both alike; each figure is the median.
"""

from __future__ import annotations

import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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


def plain_rate(hook: Receiver, *, batch_size: int, count: int, prefix: str) -> float:
    """Traces/s of a urllib3 pool posting the same bodies from ``concurrency(batch_size)`` threads."""
    traces = [stored_form(TraceIn.model_validate(trace(i, prefix))) for i in range(count)]
    bodies = [body.encode("json", traces[i:i + batch_size], privacy_mode=False, batched=batch_size > 1)
              for i in range(0, count, batch_size)]
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
            ours, plain = [], []
            for round_ in range(rounds):
                ours.append(tracedrop_rate(bench, hook, batch_size=batch_size, count=count,
                                           prefix=f"h{batch_size}r{round_}"))
                plain.append(plain_rate(hook, batch_size=batch_size, count=count, prefix=f"p{batch_size}r{round_}"))
            figures[f"batch_{batch_size}"] = {
                "traces": count, "concurrency": concurrency(batch_size), "tracedrop_per_s": statistics.median(ours),
                "plain_per_s": statistics.median(plain), "rounds": {"tracedrop": ours, "plain": plain},
                "ratio": statistics.median(ours) / statistics.median(plain)}
        return figures
    finally:
        hook.service.stop()


def describe(figures: dict[str, Any]) -> str:
    return "; ".join(f"batch_size {key.removeprefix('batch_')}: tracedrop {f['tracedrop_per_s']:.0f} traces/s, "
                     f"plain client {f['plain_per_s']:.0f}/s at {f['concurrency']} in flight ({f['ratio']:.2f}x)"
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
