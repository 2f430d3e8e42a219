"""Redis memory per owed trace: the same realistic chat traces stored as earlier versions did (a hash per trace,
its body plain, then compressed alone) and as tracedrop stores them now (one string per trace, its body compressed
alone until the deployment has trained its dictionary, then with it), on a redis-server of this phase's own,
measured as ``used_memory`` growth.

The text is English prose: sentences of the standard library's own documentation, drawn at random (a seeded
generator), so it compresses as ordinary text does, not as repeated characters would. The dictionary is trained as
a deployment trains it, from the first traces it accepts; here those are 1,000 traces of other sentences (other
modules' documentation, never a sentence of the measured traces), so it can only learn what a deployment's traces
share: the JSON around the text, the vocabulary and the style, not the measured text itself.
"""

from __future__ import annotations

import importlib
import inspect
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from redis import Redis

from tests import stack
from worker import keys
from worker.bodies import SAMPLES, Bodies, pack
from worker.outbox import Outbox
from worker.trace import TraceIn, stored_form

SOURCES = ("json", "email.message", "http.client", "argparse", "logging", "asyncio.tasks", "collections",
           "pathlib", "subprocess", "threading", "unittest.case", "datetime", "decimal", "typing")
TRAINING_SOURCES = ("tarfile", "zipfile", "configparser", "csv", "sqlite3", "socket", "ssl", "shutil", "tempfile",
                    "urllib.request", "smtplib", "pickle", "functools", "itertools", "contextlib", "dataclasses",
                    "enum", "string", "textwrap", "queue", "selectors", "concurrent.futures", "ftplib", "imaplib",
                    "mailbox", "difflib", "pprint", "statistics", "fractions", "xml.dom.minidom")
"""Where the training traces' sentences come from (any sentence also in SOURCES is left out)."""
DESTINATION = "dst_memory"
LAYOUTS = ("plain", "compressed", "record", "dictionary")
"""Hash and plain body; hash and zstd body; one string and zstd body; one string and zstd body with a dictionary."""
GIGABYTES = 16
RATE = 1000


def sentences(sources: tuple[str, ...] = SOURCES) -> list[str]:
    found = []
    for name in sources:
        for _, member in inspect.getmembers(importlib.import_module(name)):
            doc = inspect.getdoc(member)
            if doc and len(doc) > 200:
                found += [s.strip() for s in doc.replace("\n", " ").split(". ") if 30 < len(s.strip()) < 300]
    return found


def chat_traces(count: int, *, seed: int = 7, pool: list[str] | None = None) -> list[dict[str, Any]]:
    """Chat traces of about 3 KB of JSON: a system prompt, a question and an answer of prose, usage and cost."""
    pool, rng = pool or sentences(), random.Random(seed)

    def prose(n: int) -> str:
        return ". ".join(rng.choice(pool) for _ in range(n)) + "."

    return [{"id": f"mem-{i}", "timestamp": 1_705_312_800 + i, "model": "openai/gpt-4o", "api_key_name": "prod",
             "user": f"user-{i % 50}", "session_id": f"s-{i % 200}",
             "usage": {"prompt_tokens": 700, "completion_tokens": 120, "total_tokens": 820},
             "cost": {"total": 0.0012},
             "request": {"model": "openai/gpt-4o", "temperature": 0.3,
                         "messages": [{"role": "system", "content": prose(6)}, {"role": "user", "content": prose(8)}]},
             "response": {"choices": [{"message": {"role": "assistant", "content": prose(12)},
                                       "finish_reason": "stop"}]}} for i in range(count)]


def training_traces() -> list[bytes]:
    measured = set(sentences())
    pool = [s for s in sentences(TRAINING_SOURCES) if s not in measured]
    return [stored(t) for t in chat_traces(SAMPLES, seed=11, pool=pool)]


def stored(trace: dict[str, Any]) -> bytes:
    return orjson.dumps(stored_form(TraceIn.model_validate(trace)))


def pack_us(bodies: list[bytes], codec: Bodies | None) -> float:
    """CPU microseconds to pack one body, as ingest does."""
    start = time.process_time()
    for body in bodies:
        codec.pack(body) if codec else pack(body)
    return (time.process_time() - start) / len(bodies) * 1e6


def store(redis: Redis, layout: str, bodies: list[bytes]) -> None:
    if layout in ("plain", "compressed"):  # as earlier versions stored them: a hash per trace
        now = int(redis.time()[0]) * 1000
        with redis.pipeline(transaction=False) as pipe:
            for trace_id, body in enumerate(bodies, start=1):
                pipe.hset(keys.body(trace_id), mapping={"b": pack(body) if layout == "compressed" else body,
                                                        "n": 1, "a": now})
                pipe.zadd(keys.owed(DESTINATION), {trace_id: now})
            pipe.execute()
        return
    outbox = Outbox(redis)
    for i in range(0, len(bodies), 100):
        outbox.accept([(body, [DESTINATION]) for body in bodies[i:i + 100]], workspace="bench")


def measure(count: int = 5000) -> dict[str, Any]:
    traces = chat_traces(count)
    posted = sum(len(orjson.dumps(t)) for t in traces)
    bodies = [stored(t) for t in traces]
    server = stack.redis_server(Path(tempfile.mkdtemp(prefix="tracedrop-memory-")))
    figures: dict[str, Any] = {"traces": count, "json_bytes_per_trace": posted / count}
    try:
        redis = Redis.from_url(server.url)
        for layout in LAYOUTS:
            redis.flushdb()
            redis.sadd(keys.DESTINATIONS, DESTINATION)
            codec = None
            if layout == "dictionary":  # the deployment's first traces are sampled, the heartbeat trains
                store(redis, layout, training_traces())
                Bodies(redis).train()
                codec = Bodies(redis)
                figures["dictionary_bytes"] = len(redis.get(keys.dictionary(int(redis.get(keys.DICTIONARY)))) or b"")
            before = int(redis.info("memory")["used_memory"])
            store(redis, layout, bodies)
            redis.delete(keys.DICTIONARY_SAMPLES)  # kept only until the dictionary is trained
            per_trace = (int(redis.info("memory")["used_memory"]) - before) / count
            figures[layout] = {"redis_bytes_per_trace": per_trace, "per_json_byte": per_trace * count / posted,
                               "hours_in_16_gb_at_1000_per_s": GIGABYTES * 1e9 / per_trace / RATE / 3600,
                               "pack_us_per_trace": pack_us(bodies, codec) if layout != "plain" else 0.0,
                               "body_bytes": sum(len(b if layout == "plain" else codec.pack(b) if codec else pack(b))
                                                 for b in bodies) / count}
        redis.close()
    finally:
        server.stop()
    return figures


def describe(f: dict[str, Any]) -> str:
    return ", ".join(f"{layout}: {f[layout]['redis_bytes_per_trace']:.0f} B a trace ({f[layout]['per_json_byte']:.2f} "
                     f"per JSON byte, body {f[layout]['body_bytes']:.0f} B, "
                     f"{f[layout]['hours_in_16_gb_at_1000_per_s']:.1f} h in 16 GB at 1,000/s"
                     + (f", packed in {f[layout]['pack_us_per_trace']:.0f} us CPU" if layout != "plain" else "") + ")"
                     for layout in LAYOUTS) + (f"; JSON {f['json_bytes_per_trace']:.0f} B a trace; dictionary "
                                               f"{f['dictionary_bytes']:,} B once")


if __name__ == "__main__":
    print(describe(measure()))
