"""Named destinations' figures: what each dialect costs to render, and how fast a named OTLP destination drains.

- Rendering: each dialect renders the same stored traces (with usage, cost, user, session, metadata and content) in
  batches of the vendors' batch size, as its destination sends them (an OTLP dialect as one protobuf export request;
  the JSON dialects as their request body); µs per trace, the median of interleaved rounds, beside the GenAI OTLP
  rendering every OTLP destination had before named kinds.
- Drain: one worker process drains a waiting backlog to the same local receiver (bench/webhooks.py's) through a
  named OTLP destination (Langfuse, the one every vendor's delivery is built like) and through the generic webhook
  kind sending the same OTLP protobuf at the same batch size; rounds alternate, each figure the median.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench.webhooks import Receiver
from bench.workload import WORKSPACE, Stack, trace
from worker.kinds.datadog import spans
from worker.kinds.otlp_vendor.config import BATCH_SIZE
from worker.kinds.posthog import events
from worker.otlp import DIALECTS, genai
from worker.otlp.envelope import export_request
from worker.trace import TraceIn, stored_form

Render = Callable[[list[dict[str, Any]]], bytes]
ROUNDS = 7


def rich(i: int) -> dict[str, Any]:
    """The workload's trace with everything a dialect maps: provider, user, session, cost, metadata."""
    return {**trace(i, "d"), "provider": "OpenAI", "user": f"user-{i % 50}", "session_id": f"session-{i % 200}",
            "cost": {"input": 0.00225, "output": 0.0008, "total": 0.00305}, "duration_ms": 840,
            "trace": {"trace_name": "support-bot", "generation_name": "answer", "team": "growth"}}


def otlp(dialect: Any) -> Render:
    return lambda traces: bytes(export_request(traces, privacy_mode=False, dialect=dialect).SerializeToString())


def renderers() -> dict[str, Render]:
    """Every dialect a destination can speak, by name: the OTLP ones, and Datadog's and PostHog's JSON bodies."""
    return {**{name: otlp(dialect) for name, dialect in DIALECTS.items()},
            "datadog": lambda traces: orjson.dumps(spans.body(traces, ml_app="bench", privacy_mode=False)),
            "posthog": lambda traces: orjson.dumps(events.batch(traces, api_key="phc_bench", privacy_mode=False))}


def rendering(count: int) -> dict[str, Any]:
    """µs per trace of each dialect, and its ratio to the GenAI OTLP rendering."""
    traces = [stored_form(TraceIn.model_validate(rich(i))) for i in range(count)]
    batches = [traces[i:i + BATCH_SIZE] for i in range(0, count, BATCH_SIZE)]
    found = renderers()
    rounds: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(ROUNDS):
        for name, render in found.items():
            started = time.perf_counter()
            size = sum(len(render(batch)) for batch in batches)
            rounds[name].append((time.perf_counter() - started) / count * 1e6)
            rounds.setdefault(f"{name}_bytes", []).append(size / count)
    baseline = statistics.median(rounds[genai.NAME])
    return {name: {"us_per_trace": statistics.median(rounds[name]),
                   "bytes_per_trace": statistics.median(rounds[f"{name}_bytes"]),
                   "ratio_to_genai": statistics.median(rounds[name]) / baseline} for name in found}


def drain_rate(bench: Stack, hook: Receiver, body: dict[str, Any], *, count: int, prefix: str) -> float:
    """Traces/s of one worker process draining ``count`` waiting traces to ``body``'s destination."""
    destination = bench.admin.destination(WORKSPACE, {"name": f"named-{prefix}", **body})["id"]
    bench.ingest(count=count, per_request=100, clients=4, prefix=prefix)
    before = hook.count()
    worker = bench.worker(f"named{prefix}", 1)
    seconds = bench.wait_drained(destination, timeout=900)
    worker.stop()
    bench.delete_destination(destination)
    if hook.count() - before < -(-count // BATCH_SIZE):
        raise RuntimeError(f"{body['type']}: {hook.count() - before} requests for {count} traces")
    return count / seconds


def drains(bench: Stack, *, count: int, rounds: int = 3) -> dict[str, Any]:
    """The named OTLP destination's drain rate against the generic webhook kind's, same receiver, same batches."""
    hook = Receiver(bench.workdir)
    origin = hook.url.removesuffix("/hook")
    kinds: dict[str, dict[str, Any]] = {
        "webhook": {"type": "webhook", "url": hook.url, "format": "otlp_proto", "batch_size": BATCH_SIZE},
        "langfuse": {"type": "langfuse", "public_key": "pk-lf-bench", "secret_key": "sk-lf-bench", "base_url": origin}}
    try:
        rates: dict[str, list[float]] = {name: [] for name in kinds}
        for round_ in range(rounds):
            for name, body in kinds.items():
                rates[name].append(drain_rate(bench, hook, body, count=count, prefix=f"{name[:2]}{round_}"))
        webhook, named = statistics.median(rates["webhook"]), statistics.median(rates["langfuse"])
        return {"traces": count, "batch_size": BATCH_SIZE, "webhook_per_s": webhook, "langfuse_per_s": named,
                "ratio": named / webhook, "rounds": rates}
    finally:
        hook.service.stop()


def describe(render: dict[str, Any], drain: dict[str, Any]) -> str:
    rendered = ", ".join(f"{name} {f['us_per_trace']:.0f} µs/trace ({f['ratio_to_genai']:.2f}x genai, "
                         f"{f['bytes_per_trace']:.0f} B)" for name, f in render.items())
    return (f"dialects, batches of {BATCH_SIZE}: {rendered}; drain, 1 worker process, batches of "
            f"{drain['batch_size']}: langfuse {drain['langfuse_per_s']:.0f}/s, generic webhook (otlp_proto) "
            f"{drain['webhook_per_s']:.0f}/s ({drain['ratio']:.2f}x)")


def main() -> None:
    """``python -m bench.dialects``: this phase alone, on a stack of its own."""
    render = rendering(2000)
    bench = Stack.start(beat=False)
    try:
        print(describe(render, drains(bench, count=5000)))
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
