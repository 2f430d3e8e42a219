"""What a change to the worker's drain would buy, shown before it is made: bench-only monkeypatches.

``python -m bench.drain_experiments [--traces N] [--rounds R] [--processes 1 2]`` starts the stack (no beat), and
for each variant ingests a backlog with no worker running, then drains it with forked processes that each loop
``worker.runtime.Runtime.deliver`` (the task's body, without Celery) until the backlog is empty. Variants run
interleaved, ``--rounds`` times each, so the spread between rounds shows the machine's noise. A real Celery
worker draining the same backlog is measured too. Prints traces/s and CPU microseconds per trace (drain
processes, SeaweedFS) per variant; writes ``.bench/experiments.json``. Nothing in worker/ is changed on disk.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench.variants import VARIANTS
from bench.workload import Stack, cpu_seconds
from worker import runtime
from worker.settings import Settings


def drain_process(variant: str, settings: dict[str, Any], destination: str) -> None:
    VARIANTS[variant]()
    worker = runtime.Runtime(Settings(**settings))
    idle = 0
    while idle < 3:
        idle = idle + 1 if worker.deliver(destination, []) == 0 else 0
        if idle:
            time.sleep(0.05)


def drain(bench: Stack, destination: str, variant: str, processes: int, traces: int) -> dict[str, float]:
    settings = {"redis_url": bench.redis.url, "admin_token": "test-admin-token",
                "secret_key": bench.env["TRACEDROP_SECRET_KEY"], "allow_private_endpoints": True}
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=drain_process, args=(variant, settings, destination), daemon=True)
                for _ in range(processes)]
    store_cpu = cpu_seconds(bench.store)
    started = time.perf_counter()
    for child in children:
        child.start()
    handles = [psutil.Process(child.pid) for child in children]
    used: dict[int, float] = {}
    while bench.backlog(destination):
        for handle in handles:
            try:
                times = handle.cpu_times()
                used[handle.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                pass
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"{variant}: backlog not drained in 600 s")
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    for handle in handles:
        try:
            times = handle.cpu_times()
            used[handle.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    store_cpu = cpu_seconds(bench.store) - store_cpu
    for child in children:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    return {"per_s": traces / seconds, "drain_cpu_us": sum(used.values()) / traces * 1e6,
            "seaweedfs_cpu_us": store_cpu / traces * 1e6}


def celery_drain(bench: Stack, destination: str, processes: int, traces: int) -> dict[str, float]:
    store_cpu = cpu_seconds(bench.store)
    worker = bench.worker(f"exp{processes}-{time.monotonic_ns()}", processes)
    worker_cpu = cpu_seconds(worker)
    seconds = bench.wait_drained(destination, timeout=600, poll=0.05)
    worker_cpu = cpu_seconds(worker) - worker_cpu
    store_cpu = cpu_seconds(bench.store) - store_cpu
    worker.stop()
    return {"per_s": traces / seconds, "drain_cpu_us": worker_cpu / traces * 1e6,
            "seaweedfs_cpu_us": store_cpu / traces * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", type=int, nargs="+", default=[1])
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = parser.parse_args()
    names = ["celery worker (as shipped)", *(args.only or VARIANTS)]
    results: dict[str, list[dict[str, float]]] = {}
    bench = Stack.start(beat=False)
    try:
        batch = 0
        for _ in range(args.rounds):
            for processes in args.processes:
                for name in names:
                    batch += 1
                    destination = bench.destination(f"exp{batch}")
                    bench.ingest(count=args.traces, per_request=100, clients=4, prefix=f"x{batch}")
                    if name.startswith("celery"):
                        figures = celery_drain(bench, destination, processes, args.traces)
                    else:
                        figures = drain(bench, destination, name, processes, args.traces)
                    label = f"{name} x{processes}"
                    results.setdefault(label, []).append(figures)
                    written = len(bench.store.keys(f"exp{batch}"))
                    if written != args.traces:
                        raise RuntimeError(f"{label}: {written} objects for {args.traces} traces")
                    bench.delete_destination(destination)
                    print(f"{label:<40} {figures['per_s']:6.0f} traces/s  drain {figures['drain_cpu_us']:5.0f} us  "
                          f"seaweedfs {figures['seaweedfs_cpu_us']:5.0f} us CPU per trace", flush=True)
    finally:
        bench.stop()
    print(f"\nevery run: all {args.traces} traces written as objects (listed); "
          f"median of {args.rounds} rounds (min-max):")
    summary: dict[str, dict[str, float]] = {}
    baseline = statistics.median(r["per_s"] for r in results[f"celery worker (as shipped) x{args.processes[0]}"])
    for label, rows in results.items():
        rates = [r["per_s"] for r in rows]
        summary[label] = {"per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
                          "drain_cpu_us": statistics.median(r["drain_cpu_us"] for r in rows),
                          "seaweedfs_cpu_us": statistics.median(r["seaweedfs_cpu_us"] for r in rows)}
        row = summary[label]
        print(f"{label:<40} {row['per_s']:6.0f}/s ({row['min']:.0f}-{row['max']:.0f})  "
              f"x{row['per_s'] / baseline:4.2f}  drain {row['drain_cpu_us']:5.0f} us  "
              f"seaweedfs {row['seaweedfs_cpu_us']:5.0f} us CPU/trace")
    Path(".bench").mkdir(exist_ok=True)
    Path(".bench/experiments.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
