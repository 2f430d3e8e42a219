"""Batch mode figures: encode rate, bytes per record, PUTs per million traces, one real export cycle.

``python -m bench.batch_figures`` (``--no-stack`` skips the cycle that starts redis-server and SeaweedFS).
Prints the figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import inspect
import math
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from worker import keys
from worker.batch.files import FORMATS, encode
from worker.batch.record import build_record
from worker.document import build_document
from worker.trace import TraceIn, stored_form

WORDS = re.findall(r"[a-z]{2,}", inspect.getsource(argparse).lower())
"""Sample text: words of a stdlib module's source at their natural frequencies (compresses less than real chats,
whose system prompts and repeated conversation turns make batch files smaller still)."""
FILE_RECORDS = 1000


def sample_bodies(count: int, *, seed: int = 7) -> list[bytes]:
    """Stored trace bodies like a chat gateway's: a system prompt, a question, an answer of varying length."""
    rng = random.Random(seed)
    bodies = []
    for i in range(count):
        def text(n: int) -> str:
            return " ".join(rng.choice(WORDS) for _ in range(n))

        trace = {
            "id": f"gen-{1705312800 + i}-{rng.getrandbits(40):010x}", "timestamp": 1705312800 + i * 0.37,
            "model": rng.choice(["openai/gpt-4o", "anthropic/claude-sonnet-4", "google/gemini-2.5-pro"]),
            "api_key_name": rng.choice(["prod backend", "staging", "batch jobs"]), "user": f"user-{rng.randrange(500)}",
            "session_id": f"sess-{rng.randrange(2000)}", "provider": "OpenAI", "api_type": "oai_completions",
            "path": "/v1/chat/completions", "status_code": 200, "finish_reason": "stop",
            "duration_ms": rng.randrange(200, 9000), "time_to_first_token_ms": rng.randrange(50, 800),
            "usage": {"prompt_tokens": rng.randrange(20, 2000), "completion_tokens": rng.randrange(5, 800),
                      "total_tokens": 0, "cached_tokens": 0, "reasoning_tokens": 0},
            "cost": {"input": 0.00001, "output": 0.00003, "total": 0.00004},
            "trace": {"trace_name": "support-bot", "env": "prod"},
            "request": {"model": "openai/gpt-4o", "temperature": 0.2, "messages": [
                {"role": "system", "content": "You are a helpful assistant for the support team."},
                {"role": "user", "content": text(rng.randrange(10, 120))}]},
            "response": {"id": f"chatcmpl-{i}", "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": text(rng.randrange(20, 300))}}]},
            "identity": {"login_name": f"user{rng.randrange(50)}@example.com", "node_id": "nXYZ", "tags": ["tag:prod"]},
            "headers": {"request": {"content-type": "application/json", "user-agent": "openai-python/1.40"},
                        "response": {"content-type": "application/json", "x-request-id": f"req-{i}"}},
        }
        bodies.append(orjson.dumps(stored_form(TraceIn.model_validate(trace))))
    return bodies


def encode_rates(bodies: list[bytes], *, rounds: int = 5) -> dict[str, float]:
    """Records per second through what a cycle does on the CPU (parse the stored body, build, encode), for every
    format, best of ``rounds`` taken in turn, so a busy moment of the machine does not fall on one format alone."""
    best = dict.fromkeys(FORMATS, math.inf)
    for _ in range(rounds):
        for fmt in FORMATS:
            started = time.perf_counter()
            for first in range(0, len(bodies), FILE_RECORDS):
                chunk = bodies[first:first + FILE_RECORDS]
                encode([build_record(i, orjson.loads(b), privacy_mode=False) for i, b in enumerate(chunk)], fmt)
            best[fmt] = min(best[fmt], time.perf_counter() - started)
    return {fmt: len(bodies) / seconds for fmt, seconds in best.items()}


def sizes(bodies: list[bytes]) -> dict[str, float]:
    """Average bytes per record: the per-trace JSON object, and each batch format (files of FILE_RECORDS)."""
    traces = [orjson.loads(b) for b in bodies]
    result = {"per_trace_json": sum(len(orjson.dumps(build_document(t, privacy_mode=False)))
                                    for t in traces) / len(traces)}
    for fmt in FORMATS:
        total = 0
        for first in range(0, len(traces), FILE_RECORDS):
            chunk = traces[first:first + FILE_RECORDS]
            total += len(encode([build_record(i, t, privacy_mode=False) for i, t in enumerate(chunk)], fmt))
        result[fmt] = total / len(traces)
    return result


def puts_per_million(*, limit: int, every: int, per_day: int = 1_000_000) -> int:
    """PUTs a batch destination makes for a million traces arriving evenly at ``per_day``: one per file, a
    cycle writes ceil(backlog / limit) files."""
    cycles = math.ceil(1_000_000 / per_day * 86400 / every)
    return cycles * math.ceil(1_000_000 / cycles / limit)


def export_cycle(bodies: list[bytes]) -> tuple[float, int]:
    """One real export cycle on loopback (redis-server + SeaweedFS): records per second and files written."""
    from redis import Redis

    from tests import stack
    from worker import store
    from worker.batch.export import Exporter
    from worker.batch.outbox import BatchOutbox
    from worker.kinds.s3 import client as s3
    from worker.kinds.s3.config import S3Destination as Destination
    from worker.outbox import Outbox

    workdir = Path(tempfile.mkdtemp(prefix="tracedrop-bench-"))
    server = stack.redis_server(workdir)
    weed = stack.seaweedfs(workdir)
    try:
        weed.client().create_bucket(Bucket="bench")
        redis = Redis(port=server.port)
        destination = Destination(**stack.s3_body(weed, "bench", mode="batch", limit=FILE_RECORDS), id="dst_bench",
                                  workspace="bench", created_at=store.now_iso())
        store.save_destination(redis, destination=destination, secret_key="bench", action="bench")
        outbox = Outbox(redis)
        for first in range(0, len(bodies), 1000):
            outbox.accept([(b, [destination.id]) for b in bodies[first:first + 1000]])
        redis.hset(keys.schedule(destination.id), "last_at", 0)
        client = s3.build_client(destination, allow_private=True)

        def connect(_: Destination) -> Any:
            def put(*, key: str, body: bytes, content_type: str) -> None:
                s3.put_object(client, bucket="bench", key=key, body=body, content_type=content_type)
            return put

        exporter = Exporter(outbox=outbox, batch=BatchOutbox(redis), connect=connect)
        started = time.perf_counter()
        written = exporter.run(destination)
        elapsed = time.perf_counter() - started
        assert written == len(bodies), f"exported {written} of {len(bodies)}"
        return written / elapsed, len(weed.keys("bench"))
    finally:
        weed.stop()
        server.stop()


def main() -> None:
    bodies = sample_bodies(20_000)
    average = sum(map(len, bodies)) / len(bodies)
    print(f"batch figures ({len(bodies)} sample chat traces, avg stored body {average:.0f} B, "
          f"files of {FILE_RECORDS} records)")
    for fmt, rate in encode_rates(bodies).items():
        print(f"  encode rate {fmt:9}: {rate:>9,.0f} records/s (parse + build + encode, one core)")
    found = sizes(bodies[:5000])
    print(f"  per-trace JSON object : {found['per_trace_json']:>7,.0f} B/record (uncompressed, one PUT each)")
    for fmt in FORMATS:
        ratio = found["per_trace_json"] / found[fmt]
        print(f"  {fmt:9} file       : {found[fmt]:>7,.0f} B/record ({ratio:.1f}x smaller)")
    print("  PUT requests per million traces (1M/day, evenly):")
    print(f"    per_trace                 : {1_000_000:>9,}")
    for limit, every in ((1000, 3600), (10000, 3600), (1000, 60)):
        print(f"    batch limit={limit:<5} every={every:<4}: {puts_per_million(limit=limit, every=every):>9,}")
    if "--no-stack" not in sys.argv:
        rate, files = export_cycle(bodies)
        print(f"  one export cycle, loopback Redis + SeaweedFS, cbor.zstd: {rate:,.0f} records/s "
              f"({len(bodies)} records, {files} files)")


if __name__ == "__main__":
    main()
