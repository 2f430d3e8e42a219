"""Every gateway posts to tracedrop as it is: each test drives the gateway's own client or documented payload and
checks the objects in the bucket (key and fields), not just the answer."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests import batchfiles, stack
from tests.conftest import wait_for, wait_for_keys

pytestmark = pytest.mark.usefixtures("running")

FIXTURES = Path(__file__).parent.parent / "fixtures"
START_NS = 1_705_312_800_000_000_000


def objects(s3: stack.SeaweedFS, bucket: str, count: int) -> dict[str, Any]:
    wait_for_keys(s3, bucket, count)
    return {key: orjson.loads(body) for key, body in s3.objects(bucket).items()}


def app_spans() -> list[ReadableSpan]:
    """What an OpenTelemetry-instrumented app records: an HTTP server span around one chat call."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("app")
    with (tracer.start_as_current_span("POST /ask", start_time=START_NS, attributes={"http.request.method": "POST"}),
          tracer.start_as_current_span("chat gpt-4o", start_time=START_NS + 5_000_000, end_on_exit=False) as chat):
        chat.set_attributes({
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 40,
            "gen_ai.usage.total_cost": 0.00043, "user.id": "user-42", "session.id": "sess-9",
            "trace.metadata.env": "prod", "gen_ai.request.temperature": 0.2,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
        })
        chat.end(end_time=START_NS + 1_839_000_000)
    provider.shutdown()
    return list(memory.get_finished_spans())


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_opentelemetry_sdk_exporter_delivers_its_genai_spans(
    api_server: stack.Api, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str,
    compression: Compression,
) -> None:
    # Given an S3 destination and the SDK's own OTLP/HTTP protobuf exporter pointed at tracedrop
    admin.destination(workspace, stack.s3_body(s3, bucket))
    exporter = OTLPSpanExporter(endpoint=f"{api_server.url}/v1/traces", compression=compression,
                                headers={"Authorization": f"Bearer {admin.ingest_key(workspace)}"})
    spans = app_spans()
    chat = next(s for s in spans if s.name == "chat gpt-4o")

    # When it exports an HTTP span and a chat span
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    exporter.shutdown()

    # Then the chat span is one object keyed by its span id; the HTTP span is ignored
    span_id = f"{chat.context.span_id:016x}"
    trace_id = f"{chat.context.trace_id:032x}"
    found = objects(s3, bucket, 1)
    assert list(found) == [f"2024-01-15/{span_id}-1705312800.json"]
    document = found[f"2024-01-15/{span_id}-1705312800.json"]
    assert document["id"] == trace_id
    assert (document["userId"], document["sessionId"], document["metadata"]) == ("user-42", "sess-9", {"env": "prod"})
    [observation] = document["observations"]
    assert observation["id"] == span_id and observation["name"] == "chat gpt-4o"
    assert observation["model"] == "gpt-4o-2024-08-06" and observation["providerName"] == "openai"
    assert (observation["promptTokens"], observation["completionTokens"], observation["totalCost"]) == (12, 40, 0.00043)
    assert observation["startTime"] == "2024-01-15T10:00:00.005Z"
    assert observation["endTime"] == "2024-01-15T10:00:01.839Z"
    assert observation["finishReason"] == "stop" and observation["modelParameters"] == {"temperature": 0.2}
    assert observation["input"] == [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]


def test_otlp_json_built_with_opentelemetry_proto_is_answered_in_json_and_lands(
    ingest: httpx.Client, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str,
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket, path_template="{prefix}/{date}/{apiKeyName}"))
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    scope_spans = resource_spans.scope_spans.add()
    for n in range(3):
        span = scope_spans.spans.add(trace_id=bytes(range(16)), span_id=bytes([9] * 7 + [n]), name="chat",
                                     start_time_unix_nano=START_NS, end_time_unix_nano=START_NS + 10**9)
        for key, value in (("gen_ai.request.model", "openai/gpt-4o"), ("openrouter.api_key_name", "prod key")):
            span.attributes.add(key=key).value.string_value = value
        span.attributes.add(key="gen_ai.usage.input_tokens").value.int_value = 100 + n
    body = json_format.MessageToDict(request)
    for n, raw in enumerate(body["resourceSpans"][0]["scopeSpans"][0]["spans"]):  # OTLP/JSON writes ids as hex
        raw["traceId"], raw["spanId"] = bytes(range(16)).hex(), f"09090909090909{n:02x}"

    response = ingest.post("/v1/traces", json=body)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    found = objects(s3, bucket, 3)
    assert sorted(found) == [f"2024-01-15/prod_key/09090909090909{n:02x}-1705312800.json" for n in range(3)]
    assert {d["observations"][0]["promptTokens"] for d in found.values()} == {100, 101, 102}
    assert {d["id"] for d in found.values()} == {bytes(range(16)).hex()}


def test_a_malformed_span_is_a_partial_success_and_the_others_land(
    ingest: httpx.Client, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str,
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket))
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add()
    for n, tokens in enumerate((5, -1)):
        span = spans.spans.add(trace_id=bytes(16 * [1]), span_id=bytes(7 * [2] + [n]), name="chat",
                               start_time_unix_nano=START_NS, end_time_unix_nano=START_NS + 10**6)
        span.attributes.add(key="gen_ai.request.model").value.string_value = "m"
        span.attributes.add(key="gen_ai.usage.input_tokens").value.int_value = tokens

    response = ingest.post("/v1/traces", content=request.SerializeToString(),
                           headers={"content-type": "application/x-protobuf"})

    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert answer.partial_success.error_message == (
        "resourceSpans[0].scopeSpans[0].spans[1].attributes.gen_ai.usage.input_tokens: must be a non-negative integer")
    assert list(objects(s3, bucket, 1)) == ["2024-01-15/0202020202020200-1705312800.json"]


def test_openrouter_webhook_documented_payload_lands_and_its_test_connection_passes(
    ingest: httpx.Client, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str,
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket))

    # OpenRouter's Test Connection: an empty OTLP payload with X-Test-Connection, by the method the user picked
    for method in ("POST", "PUT"):
        tested = ingest.request(method, "/v1/traces", json={"resourceSpans": []},
                                headers={"X-Test-Connection": "true"})
        assert tested.status_code == 200, tested.text
    # The payload its Webhook page documents, sent with PUT
    response = ingest.put("/v1/traces", content=(FIXTURES / "openrouter_webhook.json").read_bytes(),
                          headers={"content-type": "application/json"})

    assert response.status_code == 200, response.text
    found = objects(s3, bucket, 1)
    assert list(found) == ["2024-01-15/def4560000000000-1705312800.json"]
    [observation] = found["2024-01-15/def4560000000000-1705312800.json"]["observations"]
    assert (observation["model"], observation["promptTokens"], observation["completionTokens"]) == (
        "openai/gpt-4", 100, 50)
    assert observation["endTime"] == "2024-01-15T10:00:01.000Z"


def test_openrouter_delivery_shape_keeps_its_names_and_ignores_its_child_spans(
    ingest: httpx.Client, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str,
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket, path_template="{prefix}/{date}/{apiKeyName}"))

    response = ingest.post("/v1/traces", content=(FIXTURES / "openrouter_delivery.json").read_bytes(),
                           headers={"content-type": "application/json"})

    assert response.status_code == 200
    found = objects(s3, bucket, 1)
    [(key, document)] = found.items()
    assert key == "2026-09-21/example_key/0123456789abcdef-1790000000.json"
    assert document["name"] == "OpenRouter Request" and document["metadata"] == {"order_id": "ORD-12345"}
    assert document["output"] == {"role": "assistant", "content": "Hi."}
    time.sleep(1)
    assert len(s3.keys(bucket)) == 1


def test_an_aperture_hook_call_lands_as_one_trace(
    api_server: stack.Api, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str,
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket, mode="batch", every=1))
    key = admin.ingest_key(workspace)
    before = int(time.time())

    # Aperture sends the key as X-Api-Key when its hook's authorization is x-api-key
    response = httpx.post(f"{api_server.url}/v1/traces", content=(FIXTURES / "aperture_hook.json").read_bytes(),
                          headers={"content-type": "application/json", "x-api-key": key})

    assert response.status_code == 202 and response.json() == {"accepted": 1, "owed": 1, "discarded": {}}
    [batch_key] = wait_for_keys(s3, bucket, 1)
    [record] = batchfiles.decode(batch_key, s3.objects(bucket)[batch_key])
    assert record["capture_id"] == "req_01JZ8QK3V6M2X4R7T9B5N1C8DF"
    assert record["identity"] == {"login_name": "alice@example.com", "node_id": "nK7pQ2rT5u11CNTRL"}
    assert record["usage"] == {"input": 1834, "output": 96, "cached": 12288}
    assert record["estimated_cost"] == {"total": 0.0106284}
    assert record["model"] == "claude-sonnet-4-5-20250929" and record["path"] == "/v1/messages"
    assert before <= record["timestamp"].timestamp() <= time.time() + 1


def test_a_test_connection_with_a_wrong_key_is_401_and_with_a_good_one_stores_nothing(
    api_server: stack.Api, ingest: httpx.Client, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS,
    bucket: str,
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket))
    wrong = httpx.post(f"{api_server.url}/v1/traces", json={"resourceSpans": []},
                       headers={"X-Test-Connection": "true", "Authorization": "Bearer td_wrong"})
    assert wrong.status_code == 401

    good = ingest.post("/v1/traces", json={"id": "gen-1", "timestamp": 1, "model": "m"},
                       headers={"X-Test-Connection": "true"})

    assert good.status_code == 200
    assert admin.status(workspace, destination["id"])["backlog"]["size"] == 0
    assert admin.status(workspace, destination["id"])["accepted"] == 0


def test_gzip_works_for_every_format_and_a_gzip_bomb_is_413(
    ingest: httpx.Client, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str,
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket))
    native = {"id": "gen-gz", "timestamp": 1705312800, "model": "m"}
    compressed = ingest.post("/v1/traces", content=gzip.compress(orjson.dumps(native)),
                             headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert compressed.status_code == 202
    assert list(objects(s3, bucket, 1)) == ["2024-01-15/gen-gz-1705312800.json"]

    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(bomb) < 100_000
    refused = ingest.post("/v1/traces", content=bomb, headers={"content-type": "application/json",
                                                               "content-encoding": "gzip"})
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "request_too_large"

    broken = ingest.post("/v1/traces", content=b"\x1f\x8b not gzip", headers={"content-encoding": "gzip"})
    assert broken.status_code == 400 and broken.json()["error"]["field"] == "content-encoding"
    brotli = ingest.post("/v1/traces", content=b"x", headers={"content-encoding": "br"})
    assert brotli.status_code == 415


def test_undecodable_protobuf_is_400_and_spans_that_are_not_llm_requests_are_counted(
    api_server: stack.Api, ingest: httpx.Client, workspace: str,
) -> None:
    refused = ingest.post("/v1/traces", content=b"\xff\xff\xff", headers={"content-type": "application/x-protobuf"})
    assert refused.status_code == 400 and refused.json()["error"]["format"] == "otlp_proto"

    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add()
    for n in range(3):
        spans.spans.add(trace_id=bytes(16 * [3]), span_id=bytes(7 * [3] + [n]), name="GET /",
                        start_time_unix_nano=START_NS)
    accepted = ingest.post("/v1/traces", content=request.SerializeToString(),
                           headers={"content-type": "application/x-protobuf"})
    # OTLP's way to warn: a partial success that rejects nothing and says why the spans were ignored
    answer = ExportTraceServiceResponse.FromString(accepted.content)
    assert accepted.status_code == 200 and answer.partial_success.rejected_spans == 0
    assert answer.partial_success.error_message == ("3 spans ignored: not an LLM request (no gen_ai.response.model or "
                                                    "gen_ai.request.model attribute)")

    def ignored() -> float:
        for line in httpx.get(f"{api_server.url}/metrics").text.splitlines():
            if line.startswith("tracedrop_spans_ignored_total{") and workspace_label in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    workspace_label = f'workspace="{workspace}"'
    assert wait_for(lambda: ignored() == 3, what="3 ignored spans counted")


def test_a_refused_litellm_item_names_the_format_and_its_field_and_nothing_is_stored(
    ingest: httpx.Client, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str,
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket))
    good = {"id": "call-1", "call_type": "acompletion", "startTime": 1705312800.0, "endTime": 1705312801.0,
            "model": "gpt-4o-mini", "prompt_tokens": 3}
    bad = {**good, "id": "call-2", "prompt_tokens": -3}

    response = ingest.post("/v1/traces", json=[good, bad])

    assert response.status_code == 422
    assert response.json()["error"]["problems"] == [
        {"index": 1, "format": "litellm", "field": "prompt_tokens",
         "reason": "Input should be greater than or equal to 0"}]
    assert admin.status(workspace, destination["id"])["accepted"] == 0


@pytest.mark.parametrize("log_format", ["json_array", "ndjson", "single"])
def test_litellm_generic_api_logger_delivers_every_call_in_each_log_format(
    api_server: stack.Api, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str, log_format: str,
) -> None:
    # Given a destination, and LiteLLM's own generic_api logger pointed at tracedrop
    admin.destination(workspace, stack.s3_body(s3, bucket))
    key = admin.ingest_key(workspace)

    # When litellm.acompletion makes two calls and one failing call, and the logger flushes
    result = subprocess.run([sys.executable, "-m", "tests.clients.litellm_gateway", f"{api_server.url}/v1/traces",
                             key, log_format], capture_output=True, text=True, timeout=120, check=False,
                            cwd=Path(__file__).parent.parent.parent)

    # Then LiteLLM's queue is empty and each call is one object with LiteLLM's fields
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "0"
    found = objects(s3, bucket, 3)
    assert len(found) == 3
    by_output = {str(d["observations"][0].get("output", {}).get("content")): d for d in found.values()}
    assert set(by_output) == {"hello", "hello again", "None"}
    first = by_output["hello"]
    assert (first["userId"], first["tags"], first["metadata"]) == ("user-42", ["support"],
                                                                    {"team": "search", "env": "prod"})
    [observation] = first["observations"]
    assert observation["model"] == "gpt-4o-mini" and observation["providerName"] == "openai"
    assert observation["input"] == [{"role": "system", "content": "You are terse."},
                                    {"role": "user", "content": "Say hello."}]
    assert observation["promptTokens"] > 0 and observation["totalCost"] > 0
    assert by_output["hello again"]["sessionId"] == "sess-2"
    failed = by_output["None"]["observations"][0]
    assert failed["level"] == "ERROR" and "upstream down" in failed["statusMessage"]
    for key_name, document in found.items():
        assert key_name == f"{document['timestamp'][:10]}/{document['observations'][0]['id']}-" \
                           f"{int(datetime.fromisoformat(document['timestamp']).timestamp())}.json"


def test_the_same_span_or_litellm_call_posted_twice_is_one_object(
    ingest: httpx.Client, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str,
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket))
    otlp = (FIXTURES / "openrouter_webhook.json").read_bytes()
    call = {"id": "chatcmpl-twice", "call_type": "acompletion", "startTime": 1705312800.25, "model": "gpt-4o-mini"}

    for _ in range(2):
        assert ingest.post("/v1/traces", content=otlp, headers={"content-type": "application/json"}).status_code == 200
        assert ingest.post("/v1/traces", json=[call]).status_code == 202

    assert sorted(objects(s3, bucket, 2)) == ["2024-01-15/chatcmpl-twice-1705312800.json",
                                               "2024-01-15/def4560000000000-1705312800.json"]
    time.sleep(1)
    assert len(s3.keys(bucket)) == 2
