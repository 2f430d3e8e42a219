"""Lake figures: Parquet beside cbor.zstd and jsonl.gz on the same traces, and DuckDB summing them in the bucket.

For one set of sample chat traces (bench/batch_figures.py): bytes stored per trace in each format (per-trace JSON
objects under ``year=/month=/day=``, batch files of 1,000 records under ``date=/hour=``), records/s encoded (parse
+ build + encode, one core), and the seconds DuckDB (httpfs from PyPI, as tests/lake.py sets it up) takes to sum
cost per model over all of them straight from the local SeaweedFS, fresh connection each round. Every query's
counts and sums are checked against the traces. ``python -m bench.lake_figures [--traces N]`` starts its own
SeaweedFS; ``make bench`` runs it on its stack's. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from bench.batch_figures import FILE_RECORDS, encode_rates, sample_bodies
from bench.lean_put import AsyncPut
from bench.workload import cpu_seconds, machine_busy_seconds
from tests import stack
from tests.lake import duckdb_on
from worker.batch.files import encode, extension
from worker.batch.record import build_record
from worker.document import build_document
from worker.kinds.s3.writer import object_key
from worker.paths import parse_template, time_values

BUCKET = "lake"
FORMATS = ("cbor.zstd", "jsonl.gz", "parquet")
ENCODE_SAMPLE = 20_000
QUERIES = {
    "per_trace": "SELECT observations[1].model AS model, count(*), sum(observations[1].totalCost) "
                 f"FROM read_json('s3://{BUCKET}/per_trace/*/*/*/*.json', hive_partitioning = true) GROUP BY ALL",
    "jsonl.gz": "SELECT model, count(*), sum(estimated_cost.total) "
                f"FROM read_json('s3://{BUCKET}/jsonl.gz/*/*/*.jsonl.gz', hive_partitioning = true) GROUP BY ALL",
    "parquet": "SELECT model, count(*), sum(cost_total) "
               f"FROM read_parquet('s3://{BUCKET}/parquet/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL",
}
"""What a user asks first: cost per model. The batch files' paths are tracedrop's Hive template for them."""
ROUNDS = {"per_trace": 1, "jsonl.gz": 3, "parquet": 3}
"""The per-trace read takes minutes at 100,000 objects; one round of it is enough to see its order."""


def lake_objects(bodies: list[bytes]) -> dict[str, dict[str, bytes]]:
    """Key to bytes, by format, as tracedrop would write these traces with the Hive templates."""
    traces = [orjson.loads(body) for body in bodies]
    days = parse_template("{prefix}/year={year}/month={month}/day={day}", prefix="per_trace")
    found: dict[str, dict[str, bytes]] = {"per_trace": {
        object_key(days, trace): orjson.dumps(build_document(trace, privacy_mode=False)) for trace in traces}}
    for fmt in FORMATS:
        hours = parse_template("{prefix}/date={date}/hour={hour}", prefix=fmt)
        files: dict[str, bytes] = {}
        for first in range(0, len(traces), FILE_RECORDS):
            chunk = traces[first:first + FILE_RECORDS]
            path = hours.render(time_values(chunk[-1]["timestamp"]))
            records = [build_record(first + i, trace, privacy_mode=False) for i, trace in enumerate(chunk)]
            files[f"{path}/ts-tracedrop-export-{first}{extension(fmt)}"] = encode(records, fmt)
        found[fmt] = files
    return found


def upload(store: stack.SeaweedFS, objects: dict[str, bytes]) -> None:
    """PUT them all, 64 in flight, 1,000 scheduled at a time (so the event loop never starves a connection)."""
    items = list(objects.items())

    async def run() -> None:
        client = AsyncPut(store.endpoint, stack.ADMIN_KEY, store.secret(), limit=64)
        await client.open()
        try:
            for first in range(0, len(items), 1000):
                await asyncio.gather(*(client.put(BUCKET, key, body) for key, body in items[first:first + 1000]))
        finally:
            await client.close()

    asyncio.run(run())


def query_seconds(store: stack.SeaweedFS, fmt: str, expected: dict[str, tuple[int, float]]) -> list[float]:
    """Wall seconds of each round of the format's query; the answer must be the traces' counts and sums."""
    rounds = []
    for _ in range(ROUNDS[fmt]):
        connection = duckdb_on(store)
        started = time.perf_counter()
        answer = connection.sql(QUERIES[fmt]).fetchall()
        rounds.append(time.perf_counter() - started)
        connection.close()
        got = {model: (count, cost) for model, count, cost in answer}
        if got.keys() != expected.keys() or any(
                got[m][0] != expected[m][0] or not math.isclose(got[m][1], expected[m][1], rel_tol=1e-9)
                for m in expected):
            raise RuntimeError(f"{fmt}: DuckDB answered {got}, the traces say {expected}")
    return rounds


def measure(store: stack.SeaweedFS, *, traces: int) -> dict[str, Any]:
    bodies = sample_bodies(traces)
    expected_counts: Counter[str] = Counter()
    expected_costs: defaultdict[str, float] = defaultdict(float)
    for body in bodies:
        trace = orjson.loads(body)
        expected_counts[trace["model"]] += 1
        expected_costs[trace["model"]] += trace["cost"]["total"]
    expected = {model: (count, expected_costs[model]) for model, count in expected_counts.items()}
    busy, own, server = machine_busy_seconds(), os.times(), cpu_seconds(store)
    started = time.perf_counter()
    figures: dict[str, Any] = {"traces": traces, "file_records": FILE_RECORDS, "formats": {
        fmt: {"encode_per_s": rate} for fmt, rate in encode_rates(bodies[:ENCODE_SAMPLE]).items()}}
    store.client().create_bucket(Bucket=BUCKET)
    for fmt, objects in lake_objects(bodies).items():
        started = time.perf_counter()
        upload(store, objects)
        entry = figures["formats"].setdefault(fmt, {})
        entry.update({"objects": len(objects), "upload_s": time.perf_counter() - started,
                      "bytes_per_trace": sum(map(len, objects.values())) / traces})
    for fmt in QUERIES:
        rounds = query_seconds(store, fmt, expected)
        figures["formats"][fmt].update({"duckdb_rounds_s": rounds, "duckdb_s": statistics.median(rounds)})
    wall, end = time.perf_counter() - started, os.times()
    ours = end.user + end.system - own.user - own.system + cpu_seconds(store) - server
    figures["machine"] = {"wall_s": wall, "load_average_at_end": os.getloadavg(),
                          "other_cores": max(0.0, (machine_busy_seconds() - busy - ours) / wall)}
    formats = figures["formats"]
    figures["ratios"] = {
        "parquet_bytes_to_cbor": formats["parquet"]["bytes_per_trace"] / formats["cbor.zstd"]["bytes_per_trace"],
        "parquet_bytes_to_jsonl": formats["parquet"]["bytes_per_trace"] / formats["jsonl.gz"]["bytes_per_trace"],
        "parquet_encode_to_cbor": formats["parquet"]["encode_per_s"] / formats["cbor.zstd"]["encode_per_s"],
        "parquet_encode_to_jsonl": formats["parquet"]["encode_per_s"] / formats["jsonl.gz"]["encode_per_s"],
        "jsonl_query_to_parquet": formats["jsonl.gz"]["duckdb_s"] / formats["parquet"]["duckdb_s"],
        "per_trace_query_to_parquet": formats["per_trace"]["duckdb_s"] / formats["parquet"]["duckdb_s"],
    }
    return figures


def rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures as (name, measured) rows, for ``make bench``'s table and for this module run alone."""
    formats, ratios, count = figures["formats"], figures["ratios"], figures["traces"]
    found = []
    for fmt in ("per_trace", *FORMATS):
        entry = formats[fmt]
        value = f"{entry['bytes_per_trace']:,.0f} B/trace stored ({entry['objects']:,} objects)"
        if "encode_per_s" in entry:
            value += f"; {entry['encode_per_s']:,.0f} records/s encoded (parse + build + encode, one core)"
        found.append((f"lake, {count:,} chat traces, {fmt}", value))
    for fmt in QUERIES:
        rounds = ", ".join(f"{s:.2f}" for s in formats[fmt]["duckdb_rounds_s"])
        found.append((f"lake, DuckDB sums cost per model over {count:,} traces from the bucket, {fmt}",
                      f"{formats[fmt]['duckdb_s']:.2f} s (median of rounds: {rounds})"))
    found += [
        ("lake, parquet / cbor.zstd", f"{ratios['parquet_bytes_to_cbor']:.2f}x the bytes, "
                                      f"{ratios['parquet_encode_to_cbor']:.2f}x the encode rate"),
        ("lake, parquet / jsonl.gz", f"{ratios['parquet_bytes_to_jsonl']:.2f}x the bytes, "
                                     f"{ratios['parquet_encode_to_jsonl']:.2f}x the encode rate"),
        ("lake, DuckDB time / parquet's", f"jsonl.gz {ratios['jsonl_query_to_parquet']:.1f}x, "
                                          f"per-trace objects {ratios['per_trace_query_to_parquet']:.0f}x"),
        ("lake, noise: other work on the machine meanwhile",
         f"{figures['machine']['other_cores']:.2f} cores over {figures['machine']['wall_s']:.0f} s (load average "
         f"{figures['machine']['load_average_at_end'][0]:.1f} at the end)"),
    ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=int, default=100_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tracedrop-lake-"))
    store = stack.seaweedfs(workdir)
    try:
        figures = measure(store, traces=args.traces)
    finally:
        store.stop()
    for name, value in rows(figures):
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
