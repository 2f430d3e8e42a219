"""Drain rate with 1, 2 and 4 worker processes, and what each delivered trace costs Redis.

For each size a fresh per-trace destination gets a waiting backlog; Redis's command statistics are reset, a worker
with that many processes drains it, and ``INFO commandstats`` gives the commands and the Redis CPU time spent per
delivered trace (the outbox's scripts, the Celery broker's traffic, the heartbeat). Redis runs commands on one
thread, so ``1 s / Redis CPU per trace`` is one Redis node's ceiling for a fleet of any size.
"""

from __future__ import annotations

from typing import Any

import redis

from bench.workload import Stack


def commandstats(client: redis.Redis) -> tuple[int, int]:
    """(commands, microseconds) Redis has run since the statistics were last reset."""
    stats = client.info("commandstats")
    return (sum(int(v["calls"]) for v in stats.values()), sum(int(v["usec"]) for v in stats.values()))


def drain_scale(bench: Stack, *, traces: int, sizes: tuple[int, ...] = (1, 2, 4)) -> dict[str, Any]:
    client = redis.Redis.from_url(bench.redis.url)
    figures: dict[str, Any] = {}
    try:
        for processes in sizes:
            bucket = f"scale{processes}"
            destination = bench.destination(bucket)
            bench.ingest(count=traces, per_request=100, clients=4, prefix=f"x{processes}")
            worker = bench.worker(f"scale{processes}", processes)
            client.config_resetstat()
            seconds = bench.wait_drained(destination, timeout=900)
            calls, usec = commandstats(client)
            worker.stop()
            bench.delete_destination(destination)
            figures[str(processes)] = {"per_s": traces / seconds, "redis_commands_per_trace": calls / traces,
                                       "redis_cpu_us_per_trace": usec / traces,
                                       "redis_ceiling_per_s": traces * 1e6 / usec if usec else None}
    finally:
        client.close()
    return figures


def describe(figures: dict[str, Any]) -> str:
    return "; ".join(f"{n} process{'es' if n != '1' else ''}: {f['per_s']:.0f} traces/s, "
                     f"{f['redis_commands_per_trace']:.1f} Redis commands and {f['redis_cpu_us_per_trace']:.0f} us of "
                     f"Redis CPU a trace" for n, f in figures.items())
