"""Bench-only monkeypatches of the worker: what a change would buy, measured before anyone makes it.

Each variant patches worker code in the current process (and so in Celery's forked pool children); nothing on
disk changes. Used by bench/drain_experiments.py (in-process drains) and bench/patched_worker.py (a real
`tracedrop worker` with a variant applied, for ``python -m bench.run --worker-variant NAME``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from bench.lean_put import AsyncPut, LeanClient
from worker import runtime
from worker.errors import TraceRejected, TransientError
from worker.kinds.s3 import client as s3
from worker.kinds.s3 import writer as delivery
from worker.kinds.s3.writer import render_object
from worker.paths import time_values
from worker.settings import Settings
from worker.verdict import Verdict

Patch = Callable[[], None]


def as_shipped() -> None:
    """No change."""


def cached_key() -> None:
    """object_key memoised per (template, hour, apiKeyName): time_values + Jinja run once per hour and key name."""

    @lru_cache(maxsize=4096)
    def path_for(template: Any, hour: int, api_key_name: str) -> str:
        values = time_values(hour * 3_600_000)
        values["apiKeyName"] = api_key_name
        return str(template.render(values))

    def object_key(template: Any, trace: dict[str, Any]) -> str:
        epoch_ms = trace["timestamp"]
        path = path_for(template, epoch_ms // 3_600_000, trace.get("api_key_name", ""))
        name = f"{trace['id']}-{epoch_ms // 1000}.json"
        return f"{path}/{name}" if path else name

    delivery.object_key = object_key  # type: ignore[assignment]


def lean_put() -> None:
    """build_client (worker/kinds/s3/client.py) returns a LeanClient (SigV4 + urllib3), not boto3's."""
    original = s3.build_client

    def build_client(config: Any, *, allow_private: bool) -> Any:
        original(config, allow_private=allow_private)  # the endpoint check, as shipped
        token = config.session_token.get_secret_value() if config.session_token else None
        return LeanClient(config.endpoint, config.region or "us-east-1", config.access_key_id,
                          config.access_secret.get_secret_value(), token, maxsize=s3.MAX_POOL)

    s3.build_client = build_client  # type: ignore[assignment]


def threads_16() -> None:
    """The PUT pool at 16 threads instead of 64 (fewer threads fighting for the GIL)."""
    original = runtime.Runtime.__init__

    def init(self: runtime.Runtime, settings: Settings) -> None:
        original(self, settings)
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="put")
        self.s3.pool = self.pool

    runtime.Runtime.__init__ = init  # type: ignore[method-assign]


def async_put() -> None:
    """Render inline, then every PUT of the batch in flight on one asyncio loop (aiohttp + botocore's signer)."""
    loop = asyncio.new_event_loop()
    clients: dict[tuple[str, str, str], AsyncPut] = {}
    lock = threading.Lock()

    def client_for(destination: Any) -> AsyncPut:
        key = (destination.endpoint, destination.access_key_id, destination.access_secret.get_secret_value())
        with lock:
            if not clients:
                threading.Thread(target=loop.run_forever, daemon=True).start()
            if key not in clients:
                client = AsyncPut(key[0], key[1], key[2], region=destination.region or "us-east-1", limit=64)
                asyncio.run_coroutine_threadsafe(client.open(), loop).result()
                clients[key] = client
            return clients[key]

    def deliver_batch(destination: Any, claimed: list[Any], *, put: Any, pool: Any) -> Verdict:
        client = client_for(destination)
        template = destination.template()
        verdict = Verdict()
        jobs: list[tuple[int, Any]] = []
        for item in claimed:
            try:
                key, data = render_object(destination, template, item.body)
            except Exception as exc:
                verdict.rejected.append((item.trace_id, TraceRejected(str(exc), code="unrenderable")))
                continue
            jobs.append((item.trace_id, client.put(destination.bucket_name, key, data)))

        async def gather() -> list[Any]:
            return await asyncio.gather(*(job for _, job in jobs), return_exceptions=True)

        outcomes = asyncio.run_coroutine_threadsafe(gather(), loop).result()
        for (trace_id, _), outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                verdict.transient = verdict.transient or TransientError(repr(outcome))
                verdict.retry.append(trace_id)
            else:
                verdict.delivered.append(trace_id)
        return verdict

    delivery.deliver_batch = deliver_batch  # type: ignore[assignment]


def combine(*patches: Patch) -> Patch:
    def apply() -> None:
        for patch in patches:
            patch()
    return apply


VARIANTS: dict[str, Patch] = {
    "as shipped": as_shipped,
    "PUT pool 16 threads": threads_16,
    "key cached per hour": cached_key,
    "lean PUT (urllib3 + SigV4)": lean_put,
    "lean PUT + key cached": combine(lean_put, cached_key),
    "async PUT (aiohttp, 64)": async_put,
    "async PUT + key cached": combine(async_put, cached_key),
}
SHORT = {"shipped": "as shipped", "key": "key cached per hour", "lean": "lean PUT + key cached",
         "async": "async PUT + key cached"}
"""Names for the command line."""


def apply(name: str) -> None:
    VARIANTS[SHORT.get(name, name)]()
