"""The OpenInference dialect and the Phoenix and Arize AX forms, held to their documented contracts.

Attribute names and types: the OpenInference semantic conventions (github.com/Arize-ai/openinference,
``spec/semantic_conventions.md``: ``openinference.span.kind``, ``llm.*``, ``input.value``/``input.mime_type``,
``metadata`` a JSON string, ``tag.tags`` a list of strings, messages flattened as
``llm.input_messages.<i>.message.*`` with ``message.contents.<j>.message_content.*`` and
``message.tool_calls.<k>.tool_call.*``; the well-known ``llm.provider`` and ``llm.system`` values). Phoenix's
endpoint and auth: its self-hosting guide, "Authentication" (``Authorization: Bearer <key>``); Arize AX's headers:
its exporter, github.com/Arize-ai/arize-otel-python (``_get_arize_auth_headers``).
"""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from tests.unit.test_langfuse import spans
from tests.unit.test_otlp_output import FAILED, TRACE, stored
from worker.destination import MASK
from worker.kinds import KINDS
from worker.kinds.arize.config import ArizeConfig
from worker.kinds.phoenix.config import PhoenixConfig, PhoenixDestination
from worker.kinds.webhook import body
from worker.otlp.openinference import attributes, content

PHOENIX = {"name": "px", "type": "phoenix", "endpoint": "http://phoenix.internal:6006", "project": "bots"}
ARIZE = {"name": "ax", "type": "arize", "api_key": "ak-1", "space_key": "U3BhY2U6MQ==", "project": "bots"}


def test_a_trace_becomes_an_openinference_llm_span() -> None:
    found = dict(attributes(stored(TRACE), privacy_mode=False))

    assert found["openinference.span.kind"] == "LLM"
    assert found["llm.model_name"] == "openai/gpt-4o"
    assert found["llm.provider"] == "openai" and found["llm.system"] == "openai"
    assert {k: v for k, v in found.items() if k.startswith("llm.token_count.")} == {
        "llm.token_count.prompt": 12, "llm.token_count.completion": 40, "llm.token_count.total": 52,
        "llm.token_count.prompt_details.cache_read": 3, "llm.token_count.prompt_details.cache_write": 1,
        "llm.token_count.completion_details.reasoning": 5}
    assert {k: v for k, v in found.items() if k.startswith("llm.cost.")} == {
        "llm.cost.prompt": 0.00003, "llm.cost.completion": 0.0004, "llm.cost.total": 0.00043}
    assert orjson.loads(found["llm.invocation_parameters"]) == {"temperature": 0.2, "max_tokens": 100}
    assert found["llm.finish_reason"] == "stop"
    assert found["user.id"] == "user-42" and found["session.id"] == "sess-9" and found["tag.tags"] == ["beta"]
    assert orjson.loads(found["metadata"]) == {"env": "prod", "attempt": 2, "ratio": 0.5, "vip": True,
                                               "trace_name": "support-bot"}
    assert found["openrouter.api_key_name"] == "prod backend" and found["http.response.status_code"] == 200
    assert (found["input.value"], found["input.mime_type"]) == ('[{"role":"user","content":"hi"}]',
                                                                "application/json")
    assert orjson.loads(found["output.value"]) == {"role": "assistant", "content": "hello"}
    assert (found["llm.input_messages.0.message.role"], found["llm.input_messages.0.message.content"]) == \
        ("user", "hi")
    assert (found["llm.output_messages.0.message.role"], found["llm.output_messages.0.message.content"]) == \
        ("assistant", "hello")
    assert found["tracedrop.id"] == "gen-1705312800-abc123"


def test_privacy_mode_leaves_every_content_attribute_out() -> None:
    private = dict(attributes(stored(TRACE), privacy_mode=True))
    failed = dict(attributes(stored(FAILED), privacy_mode=False))

    assert not [k for k in private if k.startswith(("input.", "output.", "llm.input_messages", "llm.output_messages",
                                                    "llm.prompts", "llm.choices"))]
    assert not any(v == "hi" or "hello" in str(v) for v in private.values())
    assert private["llm.token_count.total"] == 52  # numbers are not content
    assert "llm.system" not in failed and "llm.provider" not in failed  # model "m": no vendor; no provider


def test_multimodal_parts_tool_calls_prompts_and_choices_are_flattened_as_openinference_says() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://img.example/cat.png"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "cat"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
    ]
    anthropic = {"role": "assistant", "content": [{"type": "text", "text": "A cat."},
                                                  {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]}

    chat = dict(content(messages, anthropic))
    completions = dict(content("Once upon", ["a time", "a midnight"]))

    assert chat["llm.input_messages.0.message.contents.0.message_content.type"] == "text"
    assert chat["llm.input_messages.0.message.contents.0.message_content.text"] == "what is this?"
    assert chat["llm.input_messages.0.message.contents.1.message_content.type"] == "image"
    assert chat["llm.input_messages.0.message.contents.1.message_content.image.image.url"] == \
        "https://img.example/cat.png"
    assert chat["llm.input_messages.1.message.tool_calls.0.tool_call.id"] == "call_1"
    assert chat["llm.input_messages.1.message.tool_calls.0.tool_call.function.name"] == "lookup"
    assert chat["llm.input_messages.1.message.tool_calls.0.tool_call.function.arguments"] == '{"q": "cat"}'
    assert "llm.input_messages.1.message.content" not in chat
    assert chat["llm.input_messages.2.message.tool_call_id"] == "call_1"
    assert chat["llm.output_messages.0.message.contents.0.message_content.text"] == "A cat."
    assert chat["llm.output_messages.0.message.contents.1.message_content.type"] == "tool_use"
    assert orjson.loads(chat["llm.output_messages.0.message.contents.1.message_content.text"])["name"] == "f"
    assert completions == {"input.value": "Once upon", "input.mime_type": "text/plain",
                           "output.value": '["a time","a midnight"]', "output.mime_type": "application/json",
                           "llm.prompts.0.prompt.text": "Once upon", "llm.choices.0.completion.text": "a time",
                           "llm.choices.1.completion.text": "a midnight"}


def test_the_phoenix_destination_sends_protobuf_to_its_traces_endpoint_with_the_project_and_a_bearer_key() -> None:
    config = PhoenixConfig.model_validate({**PHOENIX, "endpoint": "http://phoenix.internal:6006/v1/traces/",
                                           "api_key": "eyJ.key.sig"})

    target = config.target()
    data = target.encode([stored(TRACE)])

    assert target.url == "http://phoenix.internal:6006/v1/traces"
    assert target.headers(data, False) == {"Authorization": "Bearer eyJ.key.sig",
                                           "Content-Type": "application/x-protobuf"}
    resource, [span] = spans(data)
    assert resource["openinference.project.name"] == "bots" and span["openinference.span.kind"] == "LLM"
    assert config.projects_url() == "http://phoenix.internal:6006/v1/projects?limit=1"
    keyless = PhoenixConfig.model_validate({k: v for k, v in PHOENIX.items() if k != "project"})
    assert keyless.target().headers(data, False) == {"Content-Type": "application/x-protobuf"}
    assert keyless.project == "default"


def test_the_phoenix_key_is_masked_and_moving_the_endpoint_needs_it_again() -> None:
    saved = PhoenixDestination.model_validate({**PHOENIX, "api_key": "eyJ.key.sig", "id": "d", "workspace": "w",
                                               "created_at": "now"})
    assert saved.public()["api_key"] == MASK and "eyJ.key.sig" not in str(saved.stored(secret_key="k" * 44))

    moved = PhoenixConfig.model_validate(saved.merged({"endpoint": "http://other.internal:6006"}))
    assert saved.withheld(moved, {"endpoint": "http://other.internal:6006"}) == ["api_key"]
    assert saved.withheld(PhoenixConfig.model_validate(saved.merged({"project": "x"})), {"project": "x"}) == []


def test_the_arize_destination_sends_arizes_headers_and_the_project() -> None:
    config = ArizeConfig.model_validate(ARIZE)

    target = config.target()
    data = target.encode([stored(TRACE)])

    assert target.url == "https://otlp.arize.com/v1/traces"
    assert target.headers(data, False) == {
        "authorization": "ak-1", "api_key": "ak-1", "arize-space-id": "U3BhY2U6MQ==", "space_id": "U3BhY2U6MQ==",
        "arize-interface": "otel", "Content-Type": "application/x-protobuf"}
    resource, [span] = spans(data)
    assert resource["openinference.project.name"] == "bots" and span["llm.model_name"] == "openai/gpt-4o"
    assert KINDS["arize"].config is ArizeConfig and KINDS["phoenix"].config is PhoenixConfig


@pytest.mark.parametrize(("form", "field", "value"), [
    (PHOENIX, "endpoint", "ftp://phoenix.internal"), (PHOENIX, "endpoint", "http://u:p@phoenix.internal"),
    (PHOENIX, "api_key", "two words"), (PHOENIX, "api_key", "line\nbreak"), (PHOENIX, "project", "a\tb"),
    (PHOENIX, "project", ""), (ARIZE, "space_key", "space key"), (ARIZE, "api_key", "ak\r\n"),
    (ARIZE, "project", "\x00"), (ARIZE, "base_url", "https://otlp.arize.com/?x=1"),
])
def test_fields_that_would_break_the_request_are_refused_naming_the_field(form: dict[str, str], field: str,
                                                                         value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        KINDS[form["type"]].config.model_validate({**form, field: value})
    assert refused.value.errors()[0]["loc"] == (field,)


def test_a_webhook_with_openinference_conventions_speaks_the_dialect() -> None:
    data = body.encode("otlp_proto", [stored(TRACE)], privacy_mode=False, batched=False, conventions="openinference")
    as_json = orjson.loads(body.encode("otlp_json", [stored(TRACE)], privacy_mode=True, batched=False,
                                       conventions="openinference"))

    _, [span] = spans(data)
    assert span["openinference.span.kind"] == "LLM" and "gen_ai.request.model" not in span
    [json_span] = as_json["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert {"key": "llm.token_count.total", "value": {"intValue": "52"}} in json_span["attributes"]
    assert not [a for a in json_span["attributes"] if a["key"] == "input.value"]
