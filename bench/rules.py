"""Filter rules' and redaction's figures (docs/rules-and-redaction.md):

- Redaction: every detector and a custom pattern, hash tokens, on a ~3 KB chat trace carrying a few values to find;
  µs per trace for the redaction alone and for the whole step a writer's traces pass through (parse, redact,
  encode: ``worker.redaction.outgoing``), the median of interleaved rounds.
- Drain: one worker process drains a waiting backlog to an S3 destination with that redaction and to one without;
  rounds alternate, each figure the median; their ratio (target at least 0.8).
- Ingest: the ingest rate of the same chat traces with one destination holding ten filter rules (every trace passes
  them, so both store the same) against one with none; rounds alternate; their ratio (target at least 0.9).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import orjson

from bench.workload import WORKSPACE, Stack
from tests import stack
from worker.outbox import Claimed
from worker.redaction.config import Redaction
from worker.redaction.outgoing import claimed
from worker.redaction.redact import Redactor
from worker.trace import TraceIn, stored_form

ROUNDS = 7
REDACTION: dict[str, Any] = {"detectors": ["email", "phone", "credit_card", "iban", "ip_address", "secret"],
                             "patterns": [{"name": "employee_id", "regex": "EMP-[0-9]{6}"}], "replace_with": "hash"}
TEN_RULES: dict[str, Any] = {"groups": [{"rules": [
    {"field": "model", "operator": "contains", "value": "gpt"},
    {"field": "model", "operator": "starts_with", "value": "openai/"},
    {"field": "model", "operator": "regex", "value": "^openai/gpt-4"},
    {"field": "api_key_name", "operator": "not_equals", "value": "ci"},
    {"field": "total_tokens", "operator": "gte", "value": 100},
    {"field": "prompt_tokens", "operator": "lt", "value": 100000},
    {"field": "completion_tokens", "operator": "exists"},
    {"field": "input", "operator": "not_contains", "value": "password"},
    {"field": "output", "operator": "contains", "value": "parcel"},
    {"field": "metadata.team", "operator": "not_exists"}]}]}
"""Ten rules every ``chat`` trace passes, reading every kind of field (text, numbers, messages, metadata)."""

PROSE = ("Hi, I'm writing about my order from last week. The parcel never arrived and the tracking page says it "
         "was delivered to a neighbour. Could you check it and tell me what my options are? ")


def chat(i: int) -> dict[str, Any]:
    """A ~3 KB chat: prose, with an email, a phone number, a card and an IP address among it."""
    system = "You are a helpful support assistant for an online shop. Answer briefly and politely. " * 9
    user = (PROSE * 7 + f"Reach me at customer{i}@example.com or +44 20 7946 {i % 10000:04d}; I paid with "
            f"4111 1111 1111 1111 from 203.0.113.{i % 250}.")
    return {"id": f"r-{i}", "timestamp": "2026-11-22T10:00:00Z", "model": "openai/gpt-4o", "api_key_name": "bench",
            "user": f"user-{i}", "usage": {"prompt_tokens": 700, "completion_tokens": 120, "total_tokens": 820},
            "request": {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]},
            "response": {"choices": [{"message": {"role": "assistant", "content": PROSE * 2}}]}}


def bodies(count: int, *, prefix: str) -> list[bytes]:
    """``count`` chat traces in requests of 100."""
    return [orjson.dumps({"traces": [chat(j) | {"id": f"{prefix}-{j}"} for j in range(i, min(i + 100, count))]})
            for i in range(0, count, 100)]


def redaction_cost(count: int) -> dict[str, Any]:
    """µs per trace: the redaction of a stored trace, and the whole outgoing step on its stored bytes."""
    traces = [stored_form(TraceIn.model_validate(chat(i))) for i in range(count)]
    bodies = [Claimed(i, orjson.dumps(t)) for i, t in enumerate(traces)]
    redactor = Redactor(Redaction.model_validate(REDACTION), key=b"k" * 32)

    class Destination:
        pass

    destination = Destination()
    destination.redactor = redactor  # type: ignore[attr-defined]
    rounds: dict[str, list[float]] = {"redact": [], "outgoing": []}
    for _ in range(ROUNDS):
        started = time.process_time()
        for stored in traces:
            redactor.apply(stored)
        rounds["redact"].append((time.process_time() - started) / count * 1e6)
        started = time.process_time()
        claimed(destination, bodies)  # type: ignore[arg-type]
        rounds["outgoing"].append((time.process_time() - started) / count * 1e6)
    return {"trace_bytes": statistics.median(len(b.body) for b in bodies),
            "redact_us": statistics.median(rounds["redact"]), "outgoing_us": statistics.median(rounds["outgoing"])}


def drain_rate(bench: Stack, *, count: int, prefix: str, redaction: dict[str, Any] | None) -> float:
    bucket = f"rules-{prefix}"
    bench.store.client().create_bucket(Bucket=bucket)
    extra = {"redaction": redaction} if redaction else {}
    destination = str(bench.admin.destination(WORKSPACE, stack.s3_body(bench.store, bucket, **extra))["id"])
    bench.send(bodies(count, prefix=prefix), count=count, clients=4)
    worker = bench.worker(f"rules{prefix}", 1)
    seconds = bench.wait_drained(destination, timeout=900)
    worker.stop()
    bench.delete_destination(destination)
    return count / seconds


def drains(bench: Stack, *, count: int, rounds: int = 3) -> dict[str, Any]:
    """Drain rate with redaction on and off, alternating rounds."""
    rates: dict[str, list[float]] = {"off": [], "on": []}
    for round_ in range(rounds):
        for name in rates:
            rates[name].append(drain_rate(bench, count=count, prefix=f"{name}{round_}",
                                          redaction=REDACTION if name == "on" else None))
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    return {"traces": count, "on_per_s": on, "off_per_s": off, "ratio": on / off, "rounds": rates}


def ingest_rates(bench: Stack, *, count: int, rounds: int = 3) -> dict[str, Any]:
    """Ingest rate with one destination of ten filter rules and with one of none, alternating rounds."""
    rates: dict[str, list[float]] = {"none": [], "ten": []}
    for round_ in range(rounds):
        for name in rates:
            bucket = f"ingest-{name}{round_}"
            bench.store.client().create_bucket(Bucket=bucket)
            extra = {"filter_rules": TEN_RULES} if name == "ten" else {}
            destination = str(bench.admin.destination(WORKSPACE, stack.s3_body(bench.store, bucket, **extra))["id"])
            per_s, _ = bench.send(bodies(count, prefix=f"i{name}{round_}"), count=count, clients=4)
            if bench.backlog(destination) != count:
                raise RuntimeError(f"ingest with {name} rules: {bench.backlog(destination)} owed of {count}")
            rates[name].append(per_s)
            bench.delete_destination(destination)
    ten, none = statistics.median(rates["ten"]), statistics.median(rates["none"])
    return {"traces": count, "ten_rules_per_s": ten, "no_rules_per_s": none, "ratio": ten / none, "rounds": rates}


def describe(cost: dict[str, Any], drain: dict[str, Any], ingest: dict[str, Any]) -> str:
    return (f"redaction, every detector, {cost['trace_bytes']:.0f} B chat: {cost['redact_us']:.0f} µs/trace "
            f"({cost['outgoing_us']:.0f} µs with parse and encode); drain with redaction / without "
            f"{drain['on_per_s']:.0f} / {drain['off_per_s']:.0f} traces/s = {drain['ratio']:.2f}; ingest with ten "
            f"rules / none {ingest['ten_rules_per_s']:.0f} / {ingest['no_rules_per_s']:.0f} traces/s = "
            f"{ingest['ratio']:.2f}")


def main() -> None:
    """``python -m bench.rules``: this phase alone, on a stack of its own."""
    cost = redaction_cost(2000)
    bench = Stack.start(beat=False)
    try:
        print(describe(cost, drains(bench, count=6000), ingest_rates(bench, count=6000)))
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
