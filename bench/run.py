"""`make bench`: tracedrop's speed, measured on this machine against its own private stack.

Prints, in one run: the raw PUT limit of the local SeaweedFS (boto3 with 16 threads, an async client at 64), ingest
rates and p99 (native, OTLP protobuf and LiteLLM arrays), one trace per request beside a bare uvicorn app
(bench/single_requests.py), drain rates of one worker process and of a `tracedrop worker` at its default settings
(medians of WRITER_ROUNDS drains, between raw async rounds) and of two, the first drain of a waiting backlog by a
worker just started, timed from its first object to its last (bench/first_drain.py), end-to-end latency at half the
drain rate, Parquet beside cbor.zstd and jsonl.gz (bytes per trace, encode rate, DuckDB summing cost per model from
the bucket in each format: bench/lake_figures.py), each dialect's rendering cost and a named OTLP destination's
drain rate beside the generic webhook kind's (bench/dialects.py), redaction's cost per trace, a drain with redaction
on against off and ingest with ten filter rules against none (bench/rules.py), worker memory at start and after
100,000 traces, and the ratios between them, plus how busy the machine was with other work meanwhile.
Figures also go to .bench/results.json. ``--quick`` (or TRACEDROP_BENCH_QUICK=1) runs
smaller sizes. Nothing here asserts anything about time; every loop is bounded and the stack stops by itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import (
    backlog_memory,
    dialects,
    first_drain,
    gateways,
    lake_figures,
    latency,
    postgres,
    raw,
    rules,
    scale,
    single_requests,
    webhooks,
)
from bench.backlog_memory import LAYOUTS
from bench.workload import Stack, cpu_seconds, machine_busy_seconds, rss_mb, tree

RESULTS = Path(".bench/results.json")


@dataclass(frozen=True)
class Sizes:
    raw: int
    drain: int
    single: int
    memory: int
    steady_seconds: float
    gateways: int
    webhooks: dict[int, int]
    """Traces per webhook drain, by batch_size."""
    named: int
    """Traces per drain of a named OTLP destination and of the generic webhook kind (bench/dialects.py)."""
    lake: int
    """Traces written in each format and summed by DuckDB (bench/lake_figures.py)."""
    postgres: int
    """Rows written to PostgreSQL by a worker and by plain COPY, each round (bench/postgres.py)."""
    rules: int
    """Traces per drain with redaction on and off, and per ingest with ten filter rules and none (bench/rules.py)."""
    first_drains: int
    """Rounds of the first drain of a waiting backlog by a worker just started (bench/first_drain.py)."""


FULL = Sizes(raw=3000, drain=6000, single=2000, memory=100_000, steady_seconds=20, gateways=2000,
             webhooks={1: 3000, 50: 20000}, named=10_000, lake=100_000, postgres=20_000,
             rules=6000, first_drains=first_drain.ROUNDS)
QUICK = Sizes(raw=1000, drain=5000, single=1000, memory=10_000, steady_seconds=10, gateways=1000,
              webhooks={1: 1000, 50: 5000}, named=3000, lake=10_000, postgres=5000,
              rules=2000, first_drains=2)


def drain(bench: Stack, destination: str, bucket: str, *, processes: int | None, expected: int) -> dict[str, float]:
    """Start a worker (``processes`` pool processes, None for its default) on a waiting backlog; traces/s until the
    backlog is empty, every object checked by a LIST, and the CPU per trace of the worker (parent and pool
    processes) and of the store."""
    size = bench.backlog(destination)
    worker = bench.worker(f"drain{processes or 'default'}", processes)
    cpu, store = cpu_seconds(worker), cpu_seconds(bench.store)
    seconds = bench.wait_drained(destination, timeout=900)
    cpu, store = cpu_seconds(worker) - cpu, cpu_seconds(bench.store) - store
    worker.stop()
    written = len(bench.store.keys(bucket))
    if written != expected or size != expected:
        raise RuntimeError(f"drain: backlog {size}, {written} objects, {expected} traces ingested")
    return {"per_s": size / seconds, "traces": size, "seconds": seconds, "worker_cpu_us": cpu / size * 1e6,
            "seaweedfs_cpu_us": store / size * 1e6}


WRITER_ROUNDS = 5
"""Rounds of the writer's figures: the store's rate swings by a quarter from one round to the next, so they are
medians of interleaved rounds."""


def writer_rounds(bench: Stack, sizes: Sizes, say: Any) -> dict[str, Any]:
    """Raw async PUT, then a fresh backlog drained by one worker process and another by a `tracedrop worker` at
    its default settings (one pool process per CPU), WRITER_ROUNDS times, and raw async PUT once more: each figure
    the median of its rounds (``drain_1``, ``drain_default``, ``raw_async_64``, ``ingest_batch100``)."""
    raws = [raw.raw_async(bench.store, "raw", sizes.raw, limit=64)]
    drains: dict[str, list[dict[str, float]]] = {"drain_1": [], "drain_default": []}
    ingests = []
    for number in range(1, WRITER_ROUNDS + 1):
        for name, processes in (("drain_1", 1), ("drain_default", None)):
            bucket = f"{name.replace('_', '')}-{number}"
            destination = bench.destination(bucket)
            rate, p99 = bench.ingest(count=sizes.drain, per_request=100, clients=4, prefix="b")
            ingests.append({"per_s": rate, "p99_ms": p99 * 1000})
            drains[name].append(drain(bench, destination, bucket, processes=processes, expected=sizes.drain))
            bench.delete_destination(destination)
        raws.append(raw.raw_async(bench.store, "raw", sizes.raw, limit=64))
        say(f"writer round {number}: drain {drains['drain_1'][-1]['per_s']:.0f}/s (1 process), "
            f"{drains['drain_default'][-1]['per_s']:.0f}/s (default worker), raw PUT 8 KB at 64 "
            f"{raws[-2]['per_s']:.0f}/s before, {raws[-1]['per_s']:.0f}/s after")
    return {"writer_rounds": {"raw_async_64": raws, **drains}, "raw_async_64": medians(raws),
            **{name: medians(rounds) for name, rounds in drains.items()}, "ingest_batch100": medians(ingests)}


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each field's median over rounds."""
    return {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}


def memory(bench: Stack, sizes: Sizes, say: Any) -> dict[str, Any]:
    """A fresh worker (2 processes) fed ``sizes.memory`` traces after a warm-up, backlog kept under 5,000.

    The warm-up sends rounds of 1,000 traces until every pool process has delivered (its PUT threads run: a
    process that never ran a task has not built its runtime yet), at most 10 rounds. RSS of the process group:
    cold (ready, nothing delivered yet), at the start (after the warm-up) and at the end."""
    destination = bench.destination("memory")
    worker = bench.worker("memory", 2)
    time.sleep(1)
    figures: dict[str, Any] = {"traces": sizes.memory, "cold_mb": rss_mb(worker), "samples": []}
    for warm_up in range(1000, 10_001, 1000):
        bench.ingest(count=1000, per_request=100, clients=2, prefix="w", start=warm_up - 1000)
        bench.wait_drained(destination, timeout=120, poll=0.2)
        if all(process.num_threads() > 1 for process in tree(worker)[1:]):
            break
    time.sleep(1)
    figures["warm_up_traces"] = warm_up
    figures["start_mb"] = rss_mb(worker)
    chunk, sent = 5000, 0
    deadline = time.monotonic() + 900
    while sent < sizes.memory:
        if time.monotonic() > deadline:
            raise RuntimeError("memory phase did not finish in 900 s")
        if bench.backlog(destination) > chunk:
            time.sleep(0.2)
            continue
        count = min(chunk, sizes.memory - sent)
        bench.ingest(count=count, per_request=100, clients=2, prefix="m", start=sent)
        sent += count
        if sent % 20_000 == 0 or sent == sizes.memory:
            figures["samples"].append((sent, rss_mb(worker)))
            say(f"  memory: {sent:,} traces sent, worker RSS {figures['samples'][-1][1]:.0f} MB")
    bench.wait_drained(destination, timeout=600, poll=0.5)
    status = bench.admin.status("bench", destination)
    if status["delivered"] != sizes.memory + warm_up or status["dead_lettered"]:
        raise RuntimeError(f"memory: {status['delivered']} delivered of {sizes.memory + warm_up}")
    time.sleep(1)
    figures["after_mb"] = rss_mb(worker)
    figures["growth"] = figures["after_mb"] / figures["start_mb"] - 1
    figures["growth_from_cold"] = figures["after_mb"] / figures["cold_mb"] - 1
    worker.stop()
    bench.delete_destination(destination)
    return figures


def run(sizes: Sizes) -> dict[str, Any]:
    def say(text: str) -> None:
        print(text, flush=True)

    started, busy, own = time.perf_counter(), machine_busy_seconds(), os.times()
    f: dict[str, Any] = {"sizes": sizes.__dict__,
                         "machine": {"cores": os.cpu_count(), "load_average_at_start": os.getloadavg()}}
    f["backlog_memory"] = backlog_memory.measure()
    say(f"Redis memory per owed trace: {backlog_memory.describe(f['backlog_memory'])}")
    bench = Stack.start()
    try:
        bench.store.client().create_bucket(Bucket="raw")
        raw.raw_async(bench.store, "raw", sizes.raw, limit=64)  # a fresh store speeds up over its first writes
        f["raw_boto3_16"] = raw.raw_boto3(bench.store, "raw", sizes.raw, threads=16)
        f.update(writer_rounds(bench, sizes, say))
        f["first_drain"] = first_drain.measure(bench, rounds=sizes.first_drains)
        say(first_drain.describe(f["first_drain"]))

        second = bench.destination("drain2")
        rate, p99 = bench.ingest(count=sizes.single, per_request=1, clients=8, prefix="s")
        f["ingest_single"] = {"per_s": rate, "p99_ms": p99 * 1000}
        bench.ingest(count=sizes.drain, per_request=100, clients=4, prefix="c")
        f["drain_2"] = drain(bench, second, "drain2", processes=2, expected=sizes.drain + sizes.single)
        bench.delete_destination(second)
        say(f"ingest {f['ingest_batch100']['per_s']:.0f}/s in batches of 100, {f['ingest_single']['per_s']:.0f}/s "
            f"one per request; drain {f['drain_1']['per_s']:.0f}/s (1 process), {f['drain_2']['per_s']:.0f}/s (2)")

        f["scale"] = scale.drain_scale(bench, traces=sizes.drain)
        say(f"drain scale: {scale.describe(f['scale'])}")

        formats = bench.destination("gateways")
        f["gateway_ingest"] = gateways.ingest_rates(bench, count=sizes.gateways)
        bench.delete_destination(formats)
        say(f"gateway formats, batches of 100: {gateways.describe(f['gateway_ingest'])}")

        f["single_requests"] = single_requests.measure(bench, count=sizes.single)
        say(f"one trace per request, 1 api process, {single_requests.IN_FLIGHT} in flight: "
            f"{single_requests.describe(f['single_requests'])}")

        f["webhooks"] = webhooks.rates(bench, counts=sizes.webhooks)
        say(f"webhook delivery, 1 worker process: {webhooks.describe(f['webhooks'])}")

        f["dialects"] = dialects.rendering(sizes.single)
        f["named_drain"] = dialects.drains(bench, count=sizes.named)
        say(dialects.describe(f["dialects"], f["named_drain"]))
        f["postgres"] = postgres.rates(bench, count=sizes.postgres)
        say(f"PostgreSQL: {postgres.describe(f['postgres'])}")

        f["redaction"] = rules.redaction_cost(sizes.single)
        f["redaction_drain"] = rules.drains(bench, count=sizes.rules)
        f["rules_ingest"] = rules.ingest_rates(bench, count=sizes.rules)
        say(rules.describe(f["redaction"], f["redaction_drain"], f["rules_ingest"]))

        f["lake"] = lake_figures.measure(bench.store, traces=sizes.lake)
        say("; ".join(f"{name}: {value}" for name, value in lake_figures.rows(f["lake"])[-4:]))

        steady = bench.destination("e2e")
        worker = bench.worker("steady", 2)
        bench.wait_queue_empty()
        half = f["drain_2"]["per_s"] / 2
        f["e2e_batch10"] = latency.steady_load(bench, steady, "e2e", worker, rate=half,
                                               seconds=sizes.steady_seconds, per_request=10, prefix="e")
        f["e2e_quarter"] = latency.steady_load(bench, steady, "e2e", worker, rate=half / 2,
                                               seconds=sizes.steady_seconds, per_request=10, prefix="q")
        single = min(half, f["ingest_single"]["per_s"] / 2)
        f["e2e_single"] = latency.steady_load(bench, steady, "e2e", worker, rate=single,
                                              seconds=sizes.steady_seconds, per_request=1, prefix="o")
        worker.stop()
        bench.delete_destination(steady)
        say(f"end to end at {f['e2e_quarter']['rate_per_s']:.0f}/s, 10 per request: "
            f"{latency.describe(f['e2e_quarter'])}")
        say(f"end to end at {f['e2e_batch10']['rate_per_s']:.0f}/s, 10 per request: "
            f"{latency.describe(f['e2e_batch10'])}; at {f['e2e_single']['rate_per_s']:.0f}/s, one per request: "
            f"{latency.describe(f['e2e_single'])}")

        f["memory"] = memory(bench, sizes, say)
        f["raw_boto3_16_again"] = raw.raw_boto3(bench.store, "raw", sizes.raw, threads=16)
    finally:
        bench.stop()
    wall = time.perf_counter() - started
    end = os.times()
    ours = (end.user + end.system + end.children_user + end.children_system
            - own.user - own.system - own.children_user - own.children_system)
    f["machine"].update({"wall_s": wall, "busy_cores": (machine_busy_seconds() - busy) / wall,
                         "benchmark_cores": ours / wall,
                         "other_cores": max(0.0, (machine_busy_seconds() - busy - ours) / wall)})
    best = max(f["drain_1"]["per_s"], f["drain_2"]["per_s"])
    raw_async = f["raw_async_64"]["per_s"]  # the median of the rounds interleaved with the writer's drains
    f["ratios"] = {
        "drain_to_raw_boto3": best / f["raw_boto3_16"]["per_s"],
        "drain_to_raw_async": best / raw_async,
        "drain_1_to_raw_async": f["drain_1"]["per_s"] / raw_async,
        "drain_default_to_raw_async": f["drain_default"]["per_s"] / raw_async,
        "ingest_batch_to_drain": f["ingest_batch100"]["per_s"] / best,
        "raw_boto3_end_to_start": f["raw_boto3_16_again"]["per_s"] / f["raw_boto3_16"]["per_s"],
    }
    return f


def mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def table(f: dict[str, Any]) -> list[tuple[str, str]]:
    r, m, e10, e1 = f["ratios"], f["memory"], f["e2e_batch10"], f["e2e_single"]
    fd = f["first_drain"]["rounds"]
    per_put = "{per_s:.0f} PUT/s  (client {client_cpu_us:.0f} us, SeaweedFS {seaweedfs_cpu_us:.0f} us CPU per PUT)"
    rows = [
        ("raw PUT 8 KB, boto3 16 threads", per_put.format(**f["raw_boto3_16"])),
        (f"raw PUT 8 KB, aiohttp at 64 (botocore SigV4), median of {WRITER_ROUNDS + 1} rounds around the drains",
         f"{per_put.format(**f['raw_async_64'])}; rounds {rates(f['writer_rounds']['raw_async_64'])}"),
        ("ingest, batches of 100 (4 clients)",
         f"{f['ingest_batch100']['per_s']:.0f} traces/s, p99 {f['ingest_batch100']['p99_ms']:.0f} ms"),
        ("ingest, one trace per request (8 clients)",
         f"{f['ingest_single']['per_s']:.0f} traces/s, p99 {f['ingest_single']['p99_ms']:.0f} ms"),
        *[(f"ingest {name}, batches of 100 (4 clients, median of 3 interleaved rounds)",
           f"{g[name]['per_s']:.0f} traces/s, p99 {g[name]['p99_ms']:.0f} ms")
          for g in [f["gateway_ingest"]] for name in gateways.FORMATS],
        (f"drain {f['drain_1']['traces']:.0f} traces, 1 worker process, median of {WRITER_ROUNDS} rounds",
         f"{f['drain_1']['per_s']:.0f} traces/s (worker {f['drain_1']['worker_cpu_us']:.0f} us, SeaweedFS "
         f"{f['drain_1']['seaweedfs_cpu_us']:.0f} us CPU per trace); "
         f"rounds {rates(f['writer_rounds']['drain_1'])}"),
        (f"drain {f['drain_default']['traces']:.0f} traces, one `tracedrop worker` at its default settings "
         f"({f['machine']['cores']} pool processes, one per CPU), median of {WRITER_ROUNDS} rounds",
         f"{f['drain_default']['per_s']:.0f} traces/s (worker {f['drain_default']['worker_cpu_us']:.0f} us, "
         f"SeaweedFS {f['drain_default']['seaweedfs_cpu_us']:.0f} us CPU per trace); "
         f"rounds {rates(f['writer_rounds']['drain_default'])}"),
        (f"first drain of {f['first_drain']['traces']:,} traces by a `tracedrop worker` just started (default "
         f"settings), first object to last / raw async PUT before and after, median of {len(fd)} rounds",
         f"{f['first_drain']['ratio']:.2f}  target >= 0.8: {mark(f['first_drain']['ratio'] >= 0.8)}; rounds "
         + ", ".join(f"{d['per_s']:.0f}/{d['raw_per_s']:.0f} = {d['ratio']:.2f}" for d in fd)),
        (f"drain {f['drain_2']['traces']} traces, 2 worker processes",
         f"{f['drain_2']['per_s']:.0f} traces/s, worker {f['drain_2']['worker_cpu_us']:.0f} us CPU per trace"),
        *[(f"drain {sizes_['drain']} traces, {n} worker process{'es' if n != '1' else ''} (scale table)",
           f"{w['per_s']:.0f} traces/s; per trace {w['redis_commands_per_trace']:.1f} Redis commands, "
           f"{w['redis_cpu_us_per_trace']:.0f} us Redis CPU "
           f"(one node's ceiling ~{w['redis_ceiling_per_s'] or 0:,.0f}/s)")
          for sizes_ in [f["sizes"]] for n, w in f["scale"].items()],
        (f"end to end at {e10['rate_per_s']:.0f}/s, 10 per request", latency.describe(e10)),
        (f"end to end at {f['e2e_quarter']['rate_per_s']:.0f}/s (a quarter), 10 per request",
         latency.describe(f["e2e_quarter"])),
        (f"end to end at {e1['rate_per_s']:.0f}/s, 1 per request", latency.describe(e1)),
        (f"worker RSS (parent + 2 processes), after {m['warm_up_traces']:,} of warm-up -> after {m['traces']:,} more",
         f"{m['start_mb']:.0f} -> {m['after_mb']:.0f} MB ({m['growth']:+.1%}); cold, before any trace: "
         f"{m['cold_mb']:.0f} MB ({m['growth_from_cold']:+.1%} to the end)"),
        ("drain / raw boto3 PUT",
         f"{r['drain_to_raw_boto3']:.2f}  target >= 0.8: {mark(r['drain_to_raw_boto3'] >= 0.8)}"),
        ("drain, one `tracedrop worker` at its default settings / raw async PUT from one process",
         f"{r['drain_default_to_raw_async']:.2f}  target >= 0.8: {mark(r['drain_default_to_raw_async'] >= 0.8)}"),
        ("drain, 1 worker process / raw async PUT from one process", f"{r['drain_1_to_raw_async']:.2f}"),
        ("drain (best of 1 and 2 processes) / raw async PUT", f"{r['drain_to_raw_async']:.2f}"),
        ("ingest (batches of 100) / drain",
         f"{r['ingest_batch_to_drain']:.2f}  target >= 2: {mark(r['ingest_batch_to_drain'] >= 2)}"),
        *[(f"ingest {name} / native, same run", f"{ratio:.2f}  target >= 0.5: {mark(ratio >= 0.5)}")
          for name, ratio in f["gateway_ingest"]["ratios"].items()],
        *[(f"webhook drain, batch_size {key.removeprefix('batch_')}, 1 worker process / plain clients at "
           f"{w['concurrency']} in flight", f"{w['tracedrop_per_s']:.0f} traces/s; / urllib3 threads "
           f"{w['plain_per_s']:.0f} = {w['ratio']:.2f}, / aiohttp {w['plain_async_per_s']:.0f} = "
           f"{w['ratio_async']:.2f}"
           + (f"  target >= 0.8: {mark(min(w['ratio'], w['ratio_async']) >= 0.8)}" if key == "batch_1" else ""))
          for key, w in f["webhooks"].items()],
        *single_rows(f["single_requests"]),
        *[(f"render {name}, batches of {n['batch_size']}, median of {dialects.ROUNDS} interleaved rounds",
           f"{d['us_per_trace']:.0f} us per trace, {d['bytes_per_trace']:.0f} B; / genai OTLP "
           f"{d['ratio_to_genai']:.2f}") for n in [f["named_drain"]] for name, d in f["dialects"].items()],
        (f"drain {f['named_drain']['traces']} traces to a named OTLP destination (langfuse), 1 worker process / the "
         "generic webhook kind (otlp_proto), same receiver and batches",
         f"{f['named_drain']['langfuse_per_s']:.0f} / {f['named_drain']['webhook_per_s']:.0f} traces/s = "
         f"{f['named_drain']['ratio']:.2f}  target >= 0.8: {mark(f['named_drain']['ratio'] >= 0.8)}"),
        (f"redaction, every detector and a pattern, hash tokens, {f['redaction']['trace_bytes']:.0f} B chat trace",
         f"{f['redaction']['redact_us']:.0f} us CPU per trace ({f['redaction']['outgoing_us']:.0f} us with parse "
         "and encode)"),
        (f"drain {f['redaction_drain']['traces']} traces to S3 with redaction / without, 1 worker process",
         f"{f['redaction_drain']['on_per_s']:.0f} / {f['redaction_drain']['off_per_s']:.0f} traces/s = "
         f"{f['redaction_drain']['ratio']:.2f}  target >= 0.8: {mark(f['redaction_drain']['ratio'] >= 0.8)}"),
        (f"ingest {f['rules_ingest']['traces']} traces, a destination with ten filter rules / with none",
         f"{f['rules_ingest']['ten_rules_per_s']:.0f} / {f['rules_ingest']['no_rules_per_s']:.0f} traces/s = "
         f"{f['rules_ingest']['ratio']:.2f}  target >= 0.9: {mark(f['rules_ingest']['ratio'] >= 0.9)}"),
        *[(f"Redis bytes per owed chat trace ({m['json_bytes_per_trace']:.0f} B of JSON), {stored}",
           f"{m[stored]['redis_bytes_per_trace']:.0f} B = {m[stored]['per_json_byte']:.2f} per JSON byte"
           + (f"  target <= 0.6: {mark(m[stored]['per_json_byte'] <= 0.6)}" if stored == LAYOUTS[-1] else "")
           + f"; {m[stored]['hours_in_16_gb_at_1000_per_s']:.1f} h of backlog in 16 GB at 1,000 traces/s"
           + (f"; packed in {m[stored]['pack_us_per_trace']:.0f} us CPU" if stored != "plain" else ""))
          for m in [f["backlog_memory"]] for stored in LAYOUTS],
        (f"PostgreSQL, {f['postgres']['rows']:,} rows by one worker / plain psycopg COPY in batches of "
         f"{f['postgres']['batch']} from one process, median of 3 rounds",
         f"{postgres.describe(f['postgres'])}  target >= 0.5: {mark(f['postgres']['ratio_default'] >= 0.5)}"),
        *lake_figures.rows(f["lake"]),
        ("e2e p99 at half the drain rate", f"{e10['p99_ms']:.0f} ms  target < 1000 ms: {mark(e10['p99_ms'] < 1000)}"),
        ("worker memory growth", f"{m['growth']:+.1%}  target < 10%: {mark(m['growth'] < 0.10)}"),
        ("noise: raw boto3 at the end / at the start", f"{r['raw_boto3_end_to_start']:.2f}"),
        ("noise: other work on the machine meanwhile",
         f"{f['machine']['other_cores']:.2f} of {f['machine']['cores']} cores "
         f"(this benchmark and its stack: {f['machine']['benchmark_cores']:.2f})"),
    ]
    return rows


def single_rows(f: dict[str, Any]) -> list[tuple[str, str]]:
    r, two, over = f["rates"], f["scaling"], f["overload"]
    rows = [(f"one trace per request: {name}, 1 api process, {single_requests.IN_FLIGHT} in flight",
             f"{r[name]['per_s']:.0f} req/s, {r[name]['cpu_ms']:.2f} ms api CPU per request; / bare uvicorn app "
             f"{r['bare']['per_s']:.0f} req/s = {r[name]['ratio_to_bare']:.2f}"
             + (f"  target >= 0.25 and <= 1 ms: {mark(r[name]['ratio_to_bare'] >= 0.25 and r[name]['cpu_ms'] <= 1)}"
                if name in ("otlp_json", "native") else
                f"  target >= 0.5: {mark(r[name]['ratio_to_bare'] >= 0.5)}" if name != "bare" else ""))
            for name in ("bare", "otlp_json", "native", "test_connection", "healthz")]
    rows.append(("one trace per request (OTLP/JSON), `tracedrop api --workers 2` / 1 process",
                 f"{two['workers_2_per_s']:.0f} / {two['workers_1_per_s']:.0f} req/s = {two['ratio']:.2f}"))
    rows.append((f"overload: {over['in_flight']} requests in flight at one api process",
                 f"{over['taken']} taken (p99 {over['taken_p99_ms']:.0f} ms), {over['refused']} answered 503 (p99 "
                 f"{over['refused_p99_ms']:.0f} ms); api RSS {over['rss_before_mb']:.0f} -> "
                 f"{over['rss_after_mb']:.0f} MB"))
    return rows


def rates(rounds: list[dict[str, float]]) -> str:
    return ", ".join(f"{r['per_s']:.0f}/s" for r in rounds)


def report(f: dict[str, Any], path: Path) -> None:
    rows = table(f)
    width = max(len(name) for name, _ in rows)
    print(f"\n{'figure':<{width}}  measured")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(orjson.dumps(f, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    print(f"\nwall {f['machine']['wall_s']:.0f} s; figures written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", default=os.environ.get("TRACEDROP_BENCH_QUICK") == "1",
                        help="smaller sizes, for a quick look (also TRACEDROP_BENCH_QUICK=1)")
    args = parser.parse_args()
    report(run(QUICK if args.quick else FULL), RESULTS)


if __name__ == "__main__":
    main()
