"""The first drain of a waiting backlog, measured the way an outage leaves it.

Each round: raw async PUTs (64 in flight, the drain's documents, new keys), then TRACES traces owed to a new
per-trace S3 destination (a new bucket) with no worker running, then one `tracedrop worker` started at its default
settings, timed from its first object in the bucket (a LIST polled until one shows) to its last (the outbox's
``ZCARD`` polled until zero), then raw async PUTs once more. The ratio of a round is its drain rate over the mean of
the two raw rounds around it. Also per round: seconds from the worker's start to its ``ready.`` and to its first
object.

The writer rounds of `make bench` (bench/run.py) time a drain from the worker's ``ready.`` on twice the backlog, so a
ramp that is slow at first weighs less there; this phase is the figure an operator sees after an outage.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from bench import raw
from bench.workload import Stack

TRACES = 3000
ROUNDS = 3
POLL = 0.02
"""Seconds between polls: the LIST until the first object, then the ``ZCARD`` until the backlog is empty."""


def watch(bench: Stack, bucket: str, destination: str, started: float, timeout: float = 300) -> dict[str, Any]:
    """Poll the bucket until it holds an object, then the outbox until nothing is owed; times from ``started``."""
    client = bench.store.client()
    deadline = started + timeout
    while not client.list_objects_v2(Bucket=bucket, MaxKeys=1).get("KeyCount"):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"first drain: no object in {bucket} after {timeout:.0f} s")
        time.sleep(POLL)
    first = time.perf_counter()
    while owed := bench.owed(destination):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"first drain: {owed} still owed after {timeout:.0f} s")
        time.sleep(POLL)
    last = time.perf_counter()
    return {"first_s": first - started, "seconds": last - first}


def one_round(bench: Stack, number: int, traces: int) -> dict[str, Any]:
    bucket = f"firstdrain-{number}"
    destination = bench.destination(bucket)
    bench.ingest(count=traces, per_request=100, clients=4, prefix=f"f{number}")
    owed = bench.backlog(destination)
    started = time.perf_counter()
    found: dict[str, Any] = {}

    def watching() -> None:
        try:
            found.update(watch(bench, bucket, destination, started))
        except Exception as exc:
            found["error"] = exc

    watcher = threading.Thread(target=watching)
    watcher.start()
    worker = bench.worker(f"firstdrain{number}", None)
    ready = time.perf_counter() - started
    watcher.join()
    worker.stop()
    if "error" in found:
        raise found["error"]
    written = len(bench.store.keys(bucket))
    bench.delete_destination(destination)
    if owed != traces or written != traces:
        raise RuntimeError(f"first drain: {owed} owed, {written} objects written of {traces}")
    return {"per_s": traces / found["seconds"], "seconds": found["seconds"], "ready_s": ready,
            "first_object_s": found["first_s"]}


def measure(bench: Stack, *, traces: int = TRACES, rounds: int = ROUNDS) -> dict[str, Any]:
    """ROUNDS first drains of ``traces`` traces, each between raw async rounds of as many PUTs."""
    raws = [raw.raw_async(bench.store, "raw", traces, limit=64)]
    drains = []
    for number in range(1, rounds + 1):
        drain = one_round(bench, number, traces)
        raws.append(raw.raw_async(bench.store, "raw", traces, limit=64))
        drain["raw_per_s"] = (raws[-2]["per_s"] + raws[-1]["per_s"]) / 2
        drain["ratio"] = drain["per_s"] / drain["raw_per_s"]
        drains.append(drain)
    return {"traces": traces, "rounds": drains, "raw_async_64": [r["per_s"] for r in raws],
            "ratio": statistics.median(d["ratio"] for d in drains)}


def describe(figures: dict[str, Any]) -> str:
    rounds = "; ".join(
        f"{d['per_s']:.0f}/{d['raw_per_s']:.0f} = {d['ratio']:.2f} (worker ready {d['ready_s']:.1f} s, first object "
        f"{d['first_object_s']:.1f} s after its start)"
        for d in figures["rounds"])
    return f"first drain of {figures['traces']} traces / raw async PUT: median {figures['ratio']:.2f}; rounds {rounds}"


def main() -> None:
    """``python -m bench.first_drain``: this phase alone, on a stack of its own."""
    bench = Stack.start()
    try:
        bench.store.client().create_bucket(Bucket="raw")
        raw.raw_async(bench.store, "raw", TRACES, limit=64)  # a fresh store speeds up over its first writes
        print(describe(measure(bench)), flush=True)
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
