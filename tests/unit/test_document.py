"""The OpenRouter-style document, built from stored traces without any I/O."""

from __future__ import annotations

from typing import Any

from worker.document import build_document, iso_ms, model_parameters, request_input, response_output
from worker.trace import TraceIn, stored_form


def stored(**fields: Any) -> dict[str, Any]:
    trace = {"id": "gen-1", "timestamp": "2024-01-15T10:00:00Z", "model": "anthropic/claude", **fields}
    return stored_form(TraceIn.model_validate(trace))


def test_missing_quantities_are_omitted_never_zero() -> None:
    observation = build_document(stored(), privacy_mode=False)["observations"][0]
    for absent in ("promptTokens", "totalCost", "endTime", "completionStartTime", "statusCode", "input", "output",
                   "providerName", "promptTokensDetails", "completionTokensDetails"):
        assert absent not in observation


def test_partial_usage_keeps_only_what_was_given() -> None:
    observation = build_document(stored(usage={"prompt_tokens": 5, "cached_tokens": 2}), privacy_mode=False)
    assert observation["observations"][0]["promptTokens"] == 5
    assert observation["observations"][0]["promptTokensDetails"] == {"cachedTokens": 2}
    assert "completionTokens" not in observation["observations"][0]


def test_status_400_and_above_is_an_error_level() -> None:
    assert build_document(stored(status_code=429), privacy_mode=False)["observations"][0]["level"] == "ERROR"
    assert build_document(stored(status_code=399), privacy_mode=False)["observations"][0]["level"] == "DEFAULT"


def test_special_trace_keys_and_custom_metadata() -> None:
    document = build_document(stored(trace={"trace_id": "t-1", "trace_name": "bot", "generation_name": "g",
                                            "tags": ["a"], "team": "x", "n": 3}), privacy_mode=False)
    assert document["id"] == "t-1"
    assert document["name"] == "bot"
    assert document["tags"] == ["a"]
    assert document["metadata"] == {"team": "x", "n": 3}
    observation = document["observations"][0]
    assert (observation["id"], observation["traceId"], observation["name"]) == ("gen-1", "t-1", "g")
    assert observation["metadata"] == {"team": "x", "n": 3}


def test_privacy_mode_removes_every_input_and_output() -> None:
    trace = stored(request={"messages": [{"role": "user", "content": "secret plan"}], "max_tokens": 9},
                   response={"content": [{"type": "text", "text": "the plan"}]}, usage={"total_tokens": 3})
    document = build_document(trace, privacy_mode=True)
    assert "input" not in document and "output" not in document
    observation = document["observations"][0]
    assert "input" not in observation and "output" not in observation
    assert observation["modelParameters"] == {"max_tokens": 9}
    assert observation["totalTokens"] == 3
    assert b"secret plan" not in repr(document).encode()


def test_inputs_of_each_api_shape() -> None:
    assert request_input({"messages": [{"role": "user", "content": "hi"}], "system": "be brief"}) == [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert request_input({"prompt": "once upon"}) == "once upon"
    assert request_input({"input": [{"role": "user", "content": "x"}]}) == [{"role": "user", "content": "x"}]
    assert request_input("raw text") == "raw text"


def test_messages_that_are_not_a_list_are_taken_as_they_are() -> None:
    assert request_input({"messages": 5, "system": "x"}) == 5
    assert request_input({"messages": "hello", "system": "x"}) == "hello"


def test_outputs_of_each_api_shape() -> None:
    message = {"role": "assistant", "content": "hello"}
    assert response_output({"choices": [{"message": message}]}) == message
    assert response_output({"choices": [{"message": message}, {"message": message}]}) == [message, message]
    assert response_output({"choices": [{"text": "done"}]}) == "done"
    assert response_output({"output": [{"type": "message"}]}) == [{"type": "message"}]
    assert response_output({"role": "assistant", "content": [{"type": "text", "text": "hi"}]}) == {
        "role": "assistant", "content": [{"type": "text", "text": "hi"}]}


def test_model_parameters_are_scalar_settings_without_content() -> None:
    request = {"model": "m", "stream": True, "temperature": 0.2, "top_p": 1, "user": "u", "prompt": "text",
               "messages": [], "stop": ["\n"], "seed": 7, "logprobs": False}
    assert model_parameters(request) == {"temperature": 0.2, "top_p": 1, "user": "u", "seed": 7, "logprobs": False}


def test_times_are_utc_to_the_millisecond() -> None:
    observation = build_document(stored(timestamp="2024-01-15T10:00:00.123Z", duration_ms=1877,
                                        time_to_first_token_ms=5), privacy_mode=False)
    assert observation["timestamp"] == "2024-01-15T10:00:00.123Z"
    assert observation["observations"][0]["endTime"] == "2024-01-15T10:00:02.000Z"
    assert observation["observations"][0]["completionStartTime"] == "2024-01-15T10:00:00.128Z"
    assert [iso_ms(ms) for ms in (0, 999, -1, -1000, 1705312800001)] == [
        "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00.999Z", "1969-12-31T23:59:59.999Z",
        "1969-12-31T23:59:59.000Z", "2024-01-15T10:00:00.001Z"]
