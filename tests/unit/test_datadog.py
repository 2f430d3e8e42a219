"""The Datadog dialect and the Datadog destination's form, held to Datadog's documented contract.

- DD_API: https://docs.datadoghq.com/llm_observability/instrumentation/api/ (the spans API: endpoint, ``DD-API-KEY``,
  the body ``data.type``/``data.attributes`` {``ml_app``, ``tags``, ``spans``}, the Span, Meta, IO, Message and
  Metrics fields, "Application naming guidelines").
- DD_SDK: https://docs.datadoghq.com/llm_observability/instrumentation/sdk/#monitoring-costs (cache token counts,
  costs in dollars: ``input_cost``, ``output_cost``, ``total_cost``).
"""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from tests.unit.test_otlp_output import FAILED, TRACE, stored
from worker.destination import MASK
from worker.kinds import KINDS
from worker.kinds.datadog.config import DatadogConfig, DatadogDestination
from worker.kinds.datadog.spans import body, span
from worker.otlp.common import ids

FORM = {"name": "dd", "type": "datadog", "api_key": "dd-key-1", "ml_app": "support-bot"}
SECRET_CONTENT = {**TRACE, "request": {"messages": [{"role": "user", "content": "the secret question"}]},
                  "response": {"choices": [{"message": {"role": "assistant", "content": "the private answer"}}]}}


def test_a_trace_becomes_an_llm_span_with_its_messages_tokens_costs_and_tags() -> None:
    found = span(stored(TRACE), privacy_mode=False)

    trace_id, span_id = ids(stored(TRACE))
    # DD_API "Span": ids are strings, a root's parent_id is "undefined", times in nanoseconds
    assert (found["trace_id"], found["span_id"]) == (trace_id.hex(), str(int.from_bytes(span_id, "big")))
    assert found["parent_id"] == "undefined" and found["name"] == "answer" and found["status"] == "ok"
    assert found["start_ns"] == 1705312800_000_000_000 and found["duration"] == 1834_000_000
    assert found["session_id"] == "sess-9"
    assert found["tags"] == ["user_id:user-42", "api_key_name:prod backend", "beta"]
    meta = found["meta"]
    # DD_API "Meta", "IO", "Message": kind llm, messages with string content
    assert meta["kind"] == "llm"
    assert meta["input"] == {"messages": [{"role": "user", "content": "hi"}]}
    assert meta["output"] == {"messages": [{"role": "assistant", "content": "hello"}]}
    # DD_API "Meta": the metadata keys for LLM spans, values strings, numbers or booleans
    assert {k: meta["metadata"][k] for k in ("model_name", "model_provider", "temperature", "max_tokens")} == {
        "model_name": "openai/gpt-4o", "model_provider": "OpenAI", "temperature": 0.2, "max_tokens": 100}
    assert meta["metadata"]["env"] == "prod" and meta["metadata"]["trace_name"] == "support-bot"
    assert all(isinstance(v, str | int | float | bool) for v in meta["metadata"].values())
    # DD_API "Metrics" (tokens, time_to_first_token in seconds), DD_SDK (cache tokens, costs in dollars)
    assert found["metrics"] == {
        "input_tokens": 12, "output_tokens": 40, "total_tokens": 52, "cache_read_input_tokens": 3,
        "cache_write_input_tokens": 1, "reasoning_output_tokens": 5, "input_cost": 0.00003,
        "output_cost": 0.0004, "total_cost": 0.00043, "time_to_first_token": 0.312}


def test_a_failed_trace_is_an_error_span_and_privacy_mode_sends_no_content() -> None:
    failed = span(stored(FAILED), privacy_mode=False)
    private = orjson.dumps(span(stored(SECRET_CONTENT), privacy_mode=True))

    assert failed["status"] == "error"  # DD_API "Span": status "ok" or "error"
    assert failed["meta"]["error"] == {"message": "upstream unavailable", "type": "HTTP 503"}  # DD_API "Error"
    assert span(stored({**FAILED, "level": "ERROR", "status_code": None, "status_message": None}),
                privacy_mode=False)["meta"]["error"] == {"message": "error", "type": "error"}
    assert b'"input"' not in private and b'"output"' not in private
    assert b"the secret question" not in private and b"the private answer" not in private
    assert orjson.loads(private)["metrics"]["input_tokens"] == 12  # counts are not content


@pytest.mark.parametrize(("request_body", "response", "expected_input", "expected_output"), [
    ({"prompt": "say hi"}, {"choices": [{"text": "hi"}]}, {"value": "say hi"}, {"value": "hi"}),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]},
     {"content": [{"type": "text", "text": "ok"}], "role": "assistant"},
     {"messages": [{"role": "user", "content": "ab"}]}, {"messages": [{"role": "assistant", "content": "ok"}]}),
    ({"input": [{"role": "user", "content": "q"}, {"type": "function_call_output", "output": "42"}]},
     {"output": "the answer"},
     {"messages": [{"role": "user", "content": "q"},
                   {"role": "user", "content": '{"type":"function_call_output","output":"42"}'}]},
     {"value": "the answer"}),
])
def test_every_api_shape_becomes_messages_with_text_content_or_a_value(
    request_body: dict[str, object], response: dict[str, object], expected_input: dict[str, object],
    expected_output: dict[str, object],
) -> None:
    meta = span(stored({**TRACE, "request": request_body, "response": response}), privacy_mode=False)["meta"]

    assert (meta["input"], meta["output"]) == (expected_input, expected_output)


def test_a_request_carries_the_ml_app_and_every_span() -> None:
    sent = body([stored(TRACE), stored(FAILED)], ml_app="support-bot", privacy_mode=False)

    assert sent["data"]["type"] == "span"  # DD_API "SpansRequestData"
    attributes = sent["data"]["attributes"]  # DD_API "SpansPayload"
    assert attributes["ml_app"] == "support-bot" and attributes["tags"] == ["service:support-bot"]
    assert [s["meta"]["metadata"]["tracedrop_id"] for s in attributes["spans"]] == ["gen-1705312800-abc123", "gen-2"]


def test_the_datadog_destination_posts_json_to_the_spans_intake_with_its_api_key() -> None:
    config = DatadogConfig.model_validate({**FORM, "url": "https://api.datadoghq.eu/"})

    target = config.target()
    data = target.encode([stored(TRACE)])

    assert target.method == "POST" and target.url == "https://api.datadoghq.eu/api/intake/llm-obs/v1/trace/spans"
    assert target.headers(data, False) == {"DD-API-KEY": "dd-key-1", "Content-Type": "application/json"}
    assert orjson.loads(data)["data"]["attributes"]["spans"][0]["name"] == "answer"
    assert DatadogConfig.model_validate(FORM).url == "https://api.us5.datadoghq.com"


def test_the_api_key_is_masked_and_moving_the_url_needs_it_again() -> None:
    saved = DatadogDestination.model_validate({**FORM, "id": "d", "workspace": "w", "created_at": "now"})
    assert saved.public()["api_key"] == MASK and saved.public()["ml_app"] == "support-bot"
    assert "dd-key-1" not in str(saved.stored(secret_key="k" * 44))

    moved = DatadogConfig.model_validate(saved.merged({"url": "https://api.datadoghq.com"}))
    assert saved.withheld(moved, {"url": "https://api.datadoghq.com"}) == ["api_key"]
    assert KINDS["datadog"].config is DatadogConfig


@pytest.mark.parametrize(("field", "value"), [
    ("ml_app", "Support-Bot"), ("ml_app", "support__bot"), ("ml_app", "support_"), ("ml_app", "support bot"),
    ("ml_app", "x" * 194), ("api_key", "dd key"), ("url", "ftp://api.datadoghq.com"),
    ("url", "https://u:p@api.datadoghq.com"), ("url", "https://api.datadoghq.com/?site=us5"),
])
def test_fields_datadog_would_refuse_are_refused_when_saved(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        DatadogConfig.model_validate({**FORM, field: value})
    assert refused.value.errors()[0]["loc"] == (field,)
