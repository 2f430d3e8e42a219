"""Redis memory per owed trace: the same realistic chat traces stored plain (as before compression) and as
tracedrop stores them now, on a redis-server of this phase's own, measured as ``used_memory`` growth.

The text is English prose: sentences of the standard library's own documentation, drawn at random (a seeded
generator), so it compresses as ordinary text does, not as repeated characters would.
"""

from __future__ import annotations

import importlib
import inspect
import random
import tempfile
from pathlib import Path
from typing import Any

import orjson
from redis import Redis

from tests import stack
from worker import keys
from worker.outbox import Outbox
from worker.trace import TraceIn, stored_form

SOURCES = ("json", "email.message", "http.client", "argparse", "logging", "asyncio.tasks", "collections",
           "pathlib", "subprocess", "threading", "unittest.case", "datetime", "decimal", "typing")
DESTINATION = "dst_memory"
GIGABYTES = 16
RATE = 1000


def sentences() -> list[str]:
    found = []
    for name in SOURCES:
        for _, member in inspect.getmembers(importlib.import_module(name)):
            doc = inspect.getdoc(member)
            if doc and len(doc) > 200:
                found += [s.strip() for s in doc.replace("\n", " ").split(". ") if 30 < len(s.strip()) < 300]
    return found


def chat_traces(count: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """Chat traces of about 3 KB of JSON: a system prompt, a question and an answer of prose, usage and cost."""
    pool, rng = sentences(), random.Random(seed)

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


def measure(count: int = 5000) -> dict[str, Any]:
    traces = chat_traces(count)
    posted = sum(len(orjson.dumps(t)) for t in traces)
    bodies = [orjson.dumps(stored_form(TraceIn.model_validate(t))) for t in traces]
    server = stack.redis_server(Path(tempfile.mkdtemp(prefix="tracedrop-memory-")))
    figures: dict[str, Any] = {"traces": count, "json_bytes_per_trace": posted / count}
    try:
        redis = Redis.from_url(server.url)
        outbox = Outbox(redis)
        for stored in ("plain", "compressed"):
            redis.flushdb()
            redis.sadd(keys.DESTINATIONS, DESTINATION)
            before = int(redis.info("memory")["used_memory"])
            for i in range(0, count, 100):
                if stored == "plain":  # as an earlier version stored them: the accept script given the JSON
                    args: list[Any] = ["bench", len(bodies[i:i + 100])]
                    for body in bodies[i:i + 100]:
                        args += [body, 1, DESTINATION]
                    outbox._accept(args=args)
                else:
                    outbox.accept([(body, [DESTINATION]) for body in bodies[i:i + 100]], workspace="bench")
            per_trace = (int(redis.info("memory")["used_memory"]) - before) / count
            figures[stored] = {"redis_bytes_per_trace": per_trace, "per_json_byte": per_trace * count / posted,
                               "hours_in_16_gb_at_1000_per_s": GIGABYTES * 1e9 / per_trace / RATE / 3600}
        redis.close()
    finally:
        server.stop()
    return figures


def describe(f: dict[str, Any]) -> str:
    return ", ".join(f"{stored}: {f[stored]['redis_bytes_per_trace']:.0f} B a trace ({f[stored]['per_json_byte']:.2f} "
                     f"per JSON byte, {f[stored]['hours_in_16_gb_at_1000_per_s']:.1f} h in 16 GB at 1,000/s)"
                     for stored in ("plain", "compressed")) + f"; JSON {f['json_bytes_per_trace']:.0f} B a trace"


if __name__ == "__main__":
    print(describe(measure()))
