"""Ingest of the gateway formats against native traces, in one run: the same traces, in batches of 100, as native
``{"traces": [...]}``, as an OTLP protobuf ``ExportTraceServiceRequest`` and as a LiteLLM ``json_array``.

Rounds alternate between the formats so that the machine's noise falls on all three alike; each figure is the
median round. The ratios (format / native) are what the issue's 0.5x floor is about.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench.workload import EPOCH_S, Stack, trace

FORMATS = ("native", "otlp_proto", "litellm")
PER_REQUEST = 100


def otlp_body(traces: list[dict[str, Any]]) -> bytes:
    """The traces as an OTel SDK would send them: one chat span each, GenAI attributes, messages as JSON."""
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add()
    for n, source in enumerate(traces):
        span = spans.spans.add(trace_id=n.to_bytes(16, "big"), span_id=(n + 1).to_bytes(8, "big"),
                               name="chat", start_time_unix_nano=EPOCH_S * 10**9,
                               end_time_unix_nano=EPOCH_S * 10**9 + 1_834_000_000)
        for key, value in (("gen_ai.request.model", source["model"]), ("gen_ai.operation.name", "chat"),
                           ("tracedrop.id", source["id"]), ("openrouter.api_key_name", source["api_key_name"]),
                           ("gen_ai.input.messages", json.dumps(source["request"]["messages"])),
                           ("gen_ai.output.messages", json.dumps([source["response"]["choices"][0]["message"]]))):
            span.attributes.add(key=key).value.string_value = value
        for key, number in (("gen_ai.usage.input_tokens", source["usage"]["prompt_tokens"]),
                            ("gen_ai.usage.output_tokens", source["usage"]["completion_tokens"])):
            span.attributes.add(key=key).value.int_value = number
    return request.SerializeToString()


def litellm_body(traces: list[dict[str, Any]]) -> bytes:
    """The traces as LiteLLM's ``generic_api`` logger sends them (``json_array``), with its usual bulk."""
    return orjson.dumps([{
        "id": source["id"], "trace_id": source["id"], "session_id": "", "call_type": "acompletion",
        "status": "success", "custom_llm_provider": "openai", "startTime": EPOCH_S + 0.1,
        "endTime": EPOCH_S + 1.9, "completionStartTime": EPOCH_S + 1.9, "model": source["model"],
        "prompt_tokens": source["usage"]["prompt_tokens"], "completion_tokens": source["usage"]["completion_tokens"],
        "total_tokens": source["usage"]["total_tokens"], "response_cost": 0.0001,
        "cost_breakdown": {"input_cost": 0.00005, "output_cost": 0.00005, "total_cost": 0.0001},
        "metadata": {"user_api_key_alias": source["api_key_name"], "requester_metadata": {},
                     "spend_logs_metadata": None, "usage_object": {"prompt_tokens_details": None}},
        "request_tags": [], "end_user": "", "model_parameters": {"temperature": 0.2},
        "messages": source["request"]["messages"], "response": source["response"],
        "hidden_params": {"api_base": "https://api.openai.com", "additional_headers": {}},
        "model_map_information": {"model_map_key": source["model"], "model_map_value": {"max_tokens": 16384}},
    } for source in traces])


def body(format: str, traces: list[dict[str, Any]]) -> bytes:
    if format == "otlp_proto":
        return otlp_body(traces)
    if format == "litellm":
        return litellm_body(traces)
    return orjson.dumps({"traces": traces})


def ingest_rates(bench: Stack, *, count: int, rounds: int = 3, clients: int = 4) -> dict[str, Any]:
    """Traces/s and p99 per format (median of ``rounds``), and each format's rate as a ratio of native's."""
    rates: dict[str, list[float]] = {f: [] for f in FORMATS}
    p99s: dict[str, list[float]] = {f: [] for f in FORMATS}
    for round_ in range(rounds):
        for format in FORMATS:
            prefix = f"g{round_}{format[0]}"
            bodies = [body(format, [trace(j, prefix) for j in range(i, i + PER_REQUEST)])
                      for i in range(0, count, PER_REQUEST)]
            content_type = "application/x-protobuf" if format == "otlp_proto" else "application/json"
            rate, p99 = bench.send(bodies, count=count, clients=clients, content_type=content_type,
                                   expect=200 if format == "otlp_proto" else 202)
            rates[format].append(rate)
            p99s[format].append(p99)
    figures: dict[str, Any] = {f: {"per_s": statistics.median(rates[f]), "p99_ms": statistics.median(p99s[f]) * 1000,
                                   "rounds": rates[f]} for f in FORMATS}
    figures["ratios"] = {f: figures[f]["per_s"] / figures["native"]["per_s"] for f in FORMATS if f != "native"}
    return figures


def describe(figures: dict[str, Any]) -> str:
    return ", ".join(f"{f} {figures[f]['per_s']:.0f}/s" for f in FORMATS) + " (" + ", ".join(
        f"{f} {ratio:.2f}x native" for f, ratio in figures["ratios"].items()) + ")"


def main() -> None:
    """``python -m bench.gateways``: this phase alone, on a stack of its own."""
    bench = Stack.start(beat=False)
    try:
        bench.destination("gateways")
        print(describe(ingest_rates(bench, count=2000)))
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
