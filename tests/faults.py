"""Helpers of the fault-injection tests: a private tracedrop installation, traces with known keys, and waits.

An ``Installation`` is a redis-server, api, beat and workers that one test starts for itself (so it may kill
them), writing to a SeaweedFS it is given (the suite's, or one the test started because it stops it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests import stack
from tests.conftest import make_trace, wait_for
from worker.trace import TraceIn, stored_form

WORKSPACE = "faults"
DAY = "2024-01-15"
SECONDS = 1705312800


def traces(count: int, *, start: int = 0, **fields: Any) -> list[dict[str, Any]]:
    return [make_trace(i, **fields) for i in range(start, start + count)]


def stored(trace: dict[str, Any]) -> bytes:
    """A trace as the api stores it in the outbox, for tests that write there directly."""
    return orjson.dumps(stored_form(TraceIn.model_validate(trace)))


def key_of(index: int, *, path: str = DAY) -> str:
    """Where ``make_trace(index)`` lands under the default template ``{prefix}/{date}`` and no prefix."""
    return f"{path}/gen-{index}-{SECONDS}.json"


def keys_of(indexes: Any, *, path: str = DAY) -> set[str]:
    return {key_of(i, path=path) for i in indexes}


def all_keys(store: stack.SeaweedFS, bucket: str, expected: set[str], *, timeout: float) -> set[str]:
    """The bucket's keys once every expected key is there (or fail after ``timeout``)."""
    return set(wait_for(lambda: (k if expected <= (k := set(store.keys(bucket))) else None),
                        timeout=timeout, what=f"{len(expected)} objects in {bucket}"))


@dataclass
class Installation:
    """One private tracedrop: its own redis-server, api, beat and workers, writing to ``store``."""

    workdir: Path
    redis: stack.RedisServer | stack.SentinelSet
    store: stack.SeaweedFS
    env: dict[str, str]
    api: stack.Api
    beat: stack.Service | None
    workers: list[stack.Service] = field(default_factory=list)
    admin: stack.Admin = field(init=False)
    ingest: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.admin = stack.Admin(self.api.url)
        self.admin.workspace(WORKSPACE)
        key = self.admin.ingest_key(WORKSPACE)
        self.ingest = httpx.Client(base_url=self.api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def worker(self, *, concurrency: int = 2) -> stack.Service:
        service = stack.worker(self.workdir, self.env, name=f"w{len(self.workers)}-{uuid.uuid4().hex[:4]}",
                               concurrency=concurrency)
        self.workers.append(service)
        return service

    def bucket(self) -> str:
        name = f"f-{uuid.uuid4().hex[:12]}"
        self.store.client().create_bucket(Bucket=name)
        return name

    def destination(self, bucket: str, **fields: Any) -> str:
        return str(self.admin.destination(WORKSPACE, stack.s3_body(self.store, bucket, **fields))["id"])

    def post(self, batch: list[dict[str, Any]]) -> int:
        try:
            return self.ingest.post("/v1/traces", json={"traces": batch}).status_code
        except httpx.HTTPError:
            return 0

    def status(self, destination_id: str) -> dict[str, Any]:
        return self.admin.status(WORKSPACE, destination_id)

    def wait_status(self, destination_id: str, *, timeout: float = 60, what: str = "status",
                    **expected: Any) -> dict[str, Any]:
        """The status once every ``field=value`` in ``expected`` holds."""
        def check() -> dict[str, Any] | None:
            status = self.status(destination_id)
            return status if all(status[k] == v for k, v in expected.items()) else None
        return dict(wait_for(check, timeout=timeout, what=f"{what} {expected}"))

    def logs(self) -> bytes:
        return b"".join(p.read_bytes() for p in self.workdir.glob("*.log") if not p.name.startswith(("redis",
                                                                                                       "seaweed")))


@contextmanager
def installation(workdir: Path, store: stack.SeaweedFS, *, fsync: str = "everysec", beat: bool = True,
                 sentinel: bool = False, **settings: str) -> Iterator[Installation]:
    """Start redis-server (AOF, ``appendfsync`` = ``fsync``; with ``sentinel``, a Sentinel set of a master, two
    replicas and three sentinels instead), the api and (unless ``beat`` is false) beat, with ``settings`` as
    ``TRACEDROP_`` variables; stop all of it afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as cleanup:
        redis = stack.sentinel_set(workdir) if sentinel else stack.redis_server(workdir, fsync=fsync)
        cleanup.callback(redis.stop)
        env = stack.tracedrop_env(redis.url, **{f"TRACEDROP_{k.upper()}": v for k, v in settings.items()})
        api = stack.api(workdir, env)
        cleanup.callback(api.stop)
        scheduler = stack.beat(workdir, env) if beat else None
        if scheduler is not None:
            cleanup.callback(scheduler.stop)
        built = Installation(workdir, redis, store, env, api, scheduler)
        cleanup.callback(lambda: [w.stop() for w in built.workers])
        cleanup.callback(built.admin.http.close)
        cleanup.callback(built.ingest.close)
        yield built


def metric_samples(api_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, parsed from the Prometheus exposition: (name, sorted labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(httpx.get(f"{api_url}/metrics", timeout=30).text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def latency(api_url: str, workspace: str, destination_id: str) -> tuple[float, float]:
    """(count, sum of seconds) of one destination's delivery-latency histogram."""
    samples = metric_samples(api_url)
    labels = (("destination", destination_id), ("workspace", workspace))
    return (samples.get(("tracedrop_delivery_latency_seconds_count", labels), 0.0),
            samples.get(("tracedrop_delivery_latency_seconds_sum", labels), 0.0))


class Clock:
    """Seconds since it was made, for the figures the tests print."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self) -> float:
        return round(time.monotonic() - self.started, 1)
