"""Reading gateway formats into traces: OTLP (JSON and protobuf), LiteLLM, Aperture, NDJSON, recognition order."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from api.formats.detect import decode
from api.formats.model import Item, Undecodable
from worker.trace import validate_trace

FIXTURES = Path(__file__).parent.parent / "fixtures"
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def otlp(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": [attr("service.name", "app")]},
                               "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}]}]}


def span(attributes: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"traceId": TRACE_ID, "spanId": SPAN_ID, "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": "1705312800000000000", "endTimeUnixNano": "1705312801834000000",
            "attributes": [attr(k, v) for k, v in attributes.items()], **fields}


CHAT = {
    "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 40,
    "gen_ai.usage.cache_read.input_tokens": 3, "gen_ai.usage.reasoning.output_tokens": 5,
    "gen_ai.usage.total_cost": 0.00043, "user.id": "user-42", "gen_ai.conversation.id": "conv-9",
    "trace.metadata.env": "prod", "trace.metadata.attempt": 2, "openrouter.api_key_name": "prod backend",
    "gen_ai.request.temperature": 0.2, "gen_ai.response.finish_reasons": "stop",
    "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]',
    "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}]',
}
EXPECTED_CHAT = {
    "id": SPAN_ID, "timestamp": 1705312800.0, "duration_ms": 1834, "model": "gpt-4o-2024-08-06",
    "provider": "openai", "api_type": "chat", "user": "user-42", "session_id": "conv-9",
    "api_key_name": "prod backend", "finish_reason": "stop",
    "trace": {"trace_id": TRACE_ID, "generation_name": "chat gpt-4o", "env": "prod", "attempt": 2},
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "cached_tokens": 3, "reasoning_tokens": 5},
    "cost": {"total": 0.00043},
    "request": {"temperature": 0.2, "messages": [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]},
    "response": [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}],
}


def read(body: Any, content_type: str = "application/json") -> Any:
    return decode(body if isinstance(body, bytes) else orjson.dumps(body), content_type, max_items=1000)


def test_a_genai_span_in_otlp_json_becomes_one_trace_with_every_mapped_field() -> None:
    decoded = read(otlp(span(CHAT)))
    [item] = decoded.items
    assert decoded.format == "otlp_json" and decoded.partial and decoded.ignored == 0
    assert item.problems == []
    assert item.trace == EXPECTED_CHAT
    trace, problems = validate_trace(item.trace)
    assert problems == [] and trace is not None


@pytest.mark.parametrize("order", [1, -1], ids=["as listed", "reversed"])
def test_the_first_name_of_a_field_present_wins_in_whatever_order_the_attributes_come(order: int) -> None:
    attributes = {"gen_ai.system": "old-system", "gen_ai.provider.name": "openai",
                  "gen_ai.usage.prompt_tokens": 7, "gen_ai.usage.input_tokens": 12,
                  "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
                  "http.status_code": 200, "url.path": "/api/v1/chat/completions"}
    [item] = read(otlp(span(dict(list(attributes.items())[::order])))).items
    assert (item.trace["model"], item.trace["provider"], item.trace["usage"], item.trace["path"],
            item.trace["status_code"]) == ("gpt-4o-2024-08-06", "openai", {"prompt_tokens": 12},
                                           "/api/v1/chat/completions", 200)
    assert item.origins["usage.prompt_tokens"] == "attributes.gen_ai.usage.input_tokens"


def as_protobuf(body: dict[str, Any]) -> ExportTraceServiceRequest:
    """The same request as protobuf (protobuf's JSON parser takes ids as base64, OTLP/JSON writes them as hex)."""
    for resource_spans in body["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for raw in scope_spans["spans"]:
                for name in ("traceId", "spanId"):
                    raw[name] = base64.b64encode(bytes.fromhex(raw[name])).decode()
    return json_format.ParseDict(body, ExportTraceServiceRequest())


def test_protobuf_reads_into_the_same_trace_as_json() -> None:
    message = as_protobuf(otlp(span(CHAT)))
    decoded = read(message.SerializeToString(), "application/x-protobuf")
    assert decoded.format == "otlp_proto"
    assert [i.trace for i in decoded.items] == [EXPECTED_CHAT]


def test_base64_ids_enum_names_and_numbers_for_64_bit_integers_are_read_too() -> None:
    raw = span({"gen_ai.request.model": "m"}, status={"code": "STATUS_CODE_ERROR", "message": "boom"},
               startTimeUnixNano=1705312800000000000, endTimeUnixNano=1705312800500000000)
    raw["traceId"] = base64.b64encode(bytes.fromhex(TRACE_ID)).decode()
    raw["spanId"] = base64.b64encode(bytes.fromhex(SPAN_ID)).decode()
    raw["attributes"].append({"key": "gen_ai.usage.input_tokens", "value": {"intValue": 7}})
    [item] = read(otlp(raw)).items
    assert item.trace["id"] == SPAN_ID and item.trace["trace"]["trace_id"] == TRACE_ID
    assert item.trace["duration_ms"] == 500 and item.trace["usage"] == {"prompt_tokens": 7}
    assert item.trace["level"] == "ERROR" and item.trace["status_message"] == "boom"


def test_spans_that_are_not_llm_requests_are_ignored_and_counted() -> None:
    http = span({"http.request.method": "GET", "url.path": "/health"}, spanId="0000000000000001")
    tool = span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}, spanId="0000000000000002")
    decoded = read(otlp(http, span(CHAT), tool))
    assert decoded.ignored == 2
    assert [i.where for i in decoded.items] == ["resourceSpans[0].scopeSpans[0].spans[1]"]


def test_a_wrongly_typed_attribute_refuses_that_span_naming_its_full_path() -> None:
    bad = span({**CHAT, "gen_ai.usage.input_tokens": "many"}, spanId="0000000000000003")
    decoded = read(otlp(span(CHAT), bad))
    good, refused = decoded.items
    assert good.problems == []
    assert refused.problems == [("attributes.gen_ai.usage.input_tokens", "must be a non-negative integer")]
    assert refused.locate(refused.problems[0][0]) == (
        "resourceSpans[0].scopeSpans[0].spans[1].attributes.gen_ai.usage.input_tokens")


def test_bad_ids_and_times_are_problems_of_the_span() -> None:
    [item] = read(otlp(span(CHAT, traceId="xyz", startTimeUnixNano="soon"))).items
    assert {field for field, _ in item.problems} == {"traceId", "startTimeUnixNano"}


def test_a_span_without_a_start_time_is_refused() -> None:
    raw = span(CHAT)
    del raw["startTimeUnixNano"]
    [item] = read(otlp(raw)).items
    assert item.problems == [("startTimeUnixNano", "is required: the time the request started")]


def test_tracedrop_ids_in_attributes_win_over_the_otlp_ids() -> None:
    [item] = read(otlp(span({**CHAT, "tracedrop.id": "gen-1", "tracedrop.trace_id": "conversation-7"}))).items
    assert item.trace["id"] == "gen-1" and item.trace["trace"]["trace_id"] == "conversation-7"


def test_openrouter_names_and_content_shapes_are_read() -> None:
    decoded = read((FIXTURES / "openrouter_delivery.json").read_bytes())
    assert decoded.ignored == 2
    [item] = decoded.items
    trace = item.trace
    assert trace["provider"] == "ExampleProvider"
    assert trace["api_key_name"] == "example key"
    assert trace["usage"] == {"prompt_tokens": 21, "completion_tokens": 3, "total_tokens": 24, "cached_tokens": 0,
                              "reasoning_tokens": 0}
    assert trace["cost"] == {"total": 4.95e-06, "input": 3.15e-06, "output": 1.8e-06}
    assert trace["trace"] == {"order_id": "ORD-12345", "generation_name": "LLM Generation",
                              "trace_id": "0123456789abcdef0123456789abcdef", "trace_name": "OpenRouter Request"}
    assert trace["request"]["messages"][1] == {"role": "user", "content": "Say hi."}
    assert "user" not in trace["request"]
    assert trace["response"] == {"choices": [{"message": {"role": "assistant", "content": "Hi."}}]}
    assert trace["finish_reason"] == "stop" and trace["time_to_first_token_ms"] == 700


def test_flattened_openllmetry_messages_are_read_as_chat() -> None:
    attributes = {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.prompt.0.role": "user",
                  "gen_ai.prompt.0.content": "hi", "gen_ai.completion.0.role": "assistant",
                  "gen_ai.completion.0.content": "hello"}
    [item] = read(otlp(span(attributes))).items
    assert item.trace["request"] == {"messages": [{"role": "user", "content": "hi"}]}
    assert item.trace["response"] == {"choices": [{"message": {"role": "assistant", "content": "hello"}}]}


def test_a_message_attribute_that_is_not_json_is_kept_as_text() -> None:
    [item] = read(otlp(span({**CHAT, "gen_ai.input.messages": "[not json"}))).items
    assert item.trace["request"]["prompt"] == "[not json"


@pytest.mark.parametrize(("body", "field"), [
    ({"resourceSpans": {}}, "resourceSpans"),
    ({"resourceSpans": [{"scopeSpans": [5]}]}, "resourceSpans[0].scopeSpans[0]"),
])
def test_a_wrong_otlp_structure_is_undecodable_naming_where(body: Any, field: str) -> None:
    with pytest.raises(Undecodable) as raised:
        read(body)
    assert raised.value.format == "otlp_json" and raised.value.field == field


def test_protobuf_that_does_not_parse_is_undecodable() -> None:
    with pytest.raises(Undecodable) as raised:
        read(b"\xff\xff\xff", "application/x-protobuf")
    assert raised.value.format == "otlp_proto"


LITELLM = {
    "id": "chatcmpl-1", "trace_id": "trace-7", "session_id": "", "call_type": "acompletion", "status": "success",
    "custom_llm_provider": "openai", "startTime": 1705312800.0, "endTime": 1705312801.5,
    "completionStartTime": 1705312800.25, "model": "gpt-4o-mini", "prompt_tokens": 10, "completion_tokens": 20,
    "total_tokens": 30, "response_cost": 1.35e-05,
    "cost_breakdown": {"input_cost": 1.5e-06, "output_cost": 1.2e-05, "total_cost": 1.35e-05},
    "metadata": {"user_api_key_alias": "team-key", "requester_metadata": {"a": 1, "b": 2},
                 "spend_logs_metadata": {"b": 3}, "usage_object": {"prompt_tokens_details": {"cached_tokens": 4}}},
    "request_tags": ["beta"], "end_user": "", "model_parameters": {"user": "user-42", "temperature": 0.1},
    "messages": [{"role": "user", "content": "hi"}],
    "response": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "hello"}}]},
    "hidden_params": {"api_base": "https://api.openai.com"}, "model_map_information": {"model_map_key": "x"},
}


def test_a_litellm_payload_maps_field_by_field() -> None:
    decoded = read(LITELLM)
    assert decoded.format == "litellm" and not decoded.partial
    assert decoded.items[0].trace == {
        "id": "chatcmpl-1", "model": "gpt-4o-mini", "provider": "openai", "api_type": "acompletion",
        "timestamp": 1705312800.0, "duration_ms": 1500, "time_to_first_token_ms": 250,
        "user": "user-42", "session_id": "trace-7", "api_key_name": "team-key",
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30, "cached_tokens": 4},
        "cost": {"input": 1.5e-06, "output": 1.2e-05, "total": 1.35e-05},
        "trace": {"a": 1, "b": 3, "trace_id": "trace-7", "tags": ["beta"]},
        "request": {"user": "user-42", "temperature": 0.1, "messages": [{"role": "user", "content": "hi"}]},
        "response": LITELLM["response"], "finish_reason": "stop",
    }


def test_a_failed_litellm_call_is_an_error_trace() -> None:
    failed = {**LITELLM, "status": "failure", "error_str": "rate limited", "response": {},
              "error_information": {"error_code": "429", "error_message": "rate limited"}}
    trace = read(failed).items[0].trace
    assert (trace["level"], trace["status_message"], trace["status_code"]) == ("ERROR", "rate limited", 429)


def test_a_litellm_end_time_out_of_float_range_is_a_problem_not_a_crash() -> None:
    [item] = read({**LITELLM, "startTime": 0, "endTime": 1.797693134862316e305}).items
    assert item.problems == [("endTime", "must be a time in unix seconds")]


def test_an_array_and_ndjson_recognise_each_item() -> None:
    native = {"id": "gen-1", "timestamp": 1705312800, "model": "m"}
    for raw in (orjson.dumps([LITELLM, native]), orjson.dumps(LITELLM) + b"\n" + orjson.dumps(native) + b"\n"):
        decoded = read(raw)
        assert [i.format for i in decoded.items] == ["litellm", "native"]
        assert decoded.format == "mixed"


def test_an_aperture_hook_call_is_one_trace_stamped_with_the_time_of_receipt() -> None:
    decoded = read((FIXTURES / "aperture_hook.json").read_bytes())
    assert decoded.format == "aperture"
    trace = decoded.items[0].trace
    assert trace["id"] == "req_01JZ8QK3V6M2X4R7T9B5N1C8DF"
    assert trace["identity"] == {"login_name": "alice@example.com", "node_id": "nK7pQ2rT5u11CNTRL"}
    assert trace["usage"] == {"prompt_tokens": 1834, "completion_tokens": 96, "cached_tokens": 12288}
    assert trace["cost"] == {"total": 0.0106284}
    assert trace["path"] == "/v1/messages" and trace["finish_reason"] == "tool_use"
    assert isinstance(trace["timestamp"], float)


def test_native_bodies_read_as_before() -> None:
    assert read({"id": "a", "timestamp": 1, "model": "m"}).format == "native"
    assert len(read({"traces": [{"id": "a"}, {"id": "b"}]}).items) == 2
    with pytest.raises(Undecodable) as raised:
        read(b"{not json")
    assert raised.value.code == "invalid_json"


def test_a_refused_native_field_is_named_by_the_source_field_it_came_from() -> None:
    item = Item("litellm", "", {}, origins={"timestamp": "startTime", "usage.prompt_tokens": "prompt_tokens"})
    assert item.source_field("timestamp") == "startTime"
    assert item.source_field("usage.prompt_tokens") == "prompt_tokens"
    assert item.source_field("model") == "model"


def test_every_attribute_read_from_otlp_is_in_the_documented_mapping() -> None:
    from api.formats import otlp

    documented = (Path(__file__).parent.parent.parent / "docs" / "gateways.md").read_text()
    names = [name for _, names, _ in otlp.FIELDS for name in names]
    names += [*otlp.REQUEST_RENAMES, otlp.REQUEST_PREFIX + "<name>", *otlp.INPUT, *otlp.OUTPUT, *otlp.MODEL_NAMES]
    missing = [name for name in names if f"`{name}`" not in documented]
    assert missing == []


def test_the_litellm_proxys_request_headers_are_headers_not_custom_metadata() -> None:
    metadata = {**LITELLM["metadata"], "requester_metadata": {
        "team": "search", "used_client_oauth_token": False,
        "headers": {"user-agent": "curl/8", "cookie": "session=1", "x-api-key": "sk-1"}}}
    [item] = read({**LITELLM, "metadata": metadata}).items
    assert item.trace["trace"] == {"team": "search", "b": 3, "trace_id": "trace-7", "tags": ["beta"]}
    trace, problems = validate_trace(item.trace)
    assert problems == [] and trace is not None
    assert trace.headers is not None and trace.headers.request == {"user-agent": "curl/8"}
