"""The Langfuse dialect and the Langfuse destination's form, held to Langfuse's documented contract.

Attribute names: https://langfuse.com/integrations/native/opentelemetry#property-mapping (usage and cost details are
JSON strings of objects, trace metadata ``langfuse.trace.metadata.<key>`` strings, environment
``langfuse.environment``). Endpoint and auth: the same page, "OpenTelemetry endpoint" (``/api/public/otel/v1/traces``,
``Authorization: Basic base64(pk:sk)``); ``x-langfuse-ingestion-version: 4``: Langfuse's API reference
(https://api.reference.langfuse.com, its introduction: "Direct OpenTelemetry exporters must send the
x-langfuse-ingestion-version: 4 header").
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pydantic import ValidationError

from tests.unit.test_otlp_output import FAILED, TRACE, stored
from worker.destination import MASK
from worker.kinds import KINDS
from worker.kinds.langfuse.config import LangfuseConfig, LangfuseDestination
from worker.kinds.webhook import body
from worker.otlp.langfuse import attributes

FORM = {"name": "lf", "type": "langfuse", "public_key": "pk-lf-1", "secret_key": "sk-lf-2"}


def spans(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(resource attributes, each span's attributes) of an OTLP protobuf body, as plain values."""
    request = MessageToDict(ExportTraceServiceRequest.FromString(data))
    [resource_spans] = request["resourceSpans"]
    resource = {a["key"]: next(iter(a["value"].values())) for a in resource_spans["resource"]["attributes"]}
    found = [{a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
             for scope in resource_spans["scopeSpans"] for span in scope["spans"]]
    return resource, found


def test_a_trace_becomes_a_langfuse_generation_with_usage_cost_and_trace_attributes() -> None:
    found = dict(attributes(stored(TRACE), privacy_mode=False))

    assert found["langfuse.observation.type"] == "generation"
    assert found["langfuse.observation.model.name"] == "openai/gpt-4o"
    assert orjson.loads(found["langfuse.observation.usage_details"]) == {
        "input": 12, "output": 40, "total": 52, "input_cache_read": 3, "input_cache_creation": 1,
        "output_reasoning": 5}
    assert orjson.loads(found["langfuse.observation.cost_details"]) == {"input": 0.00003, "output": 0.0004,
                                                                        "total": 0.00043}
    assert found["langfuse.trace.name"] == "support-bot"
    assert found["langfuse.user.id"] == "user-42" and found["langfuse.session.id"] == "sess-9"
    assert found["langfuse.trace.tags"] == ["beta"]
    # metadata values are strings (the property mapping's type), top-level keys only
    assert {k: v for k, v in found.items() if k.startswith("langfuse.trace.metadata.")} == {
        "langfuse.trace.metadata.env": "prod", "langfuse.trace.metadata.attempt": "2",
        "langfuse.trace.metadata.ratio": "0.5", "langfuse.trace.metadata.vip": "true"}
    assert found["langfuse.observation.metadata.provider"] == "OpenAI"
    assert found["langfuse.observation.metadata.api_key_name"] == "prod backend"
    assert orjson.loads(found["langfuse.observation.model.parameters"]) == {"temperature": "0.2",
                                                                            "max_tokens": "100"}
    assert found["langfuse.observation.level"] == "DEFAULT"
    assert found["langfuse.observation.completion_start_time"] == "2024-01-15T10:00:00.312Z"
    assert orjson.loads(found["langfuse.observation.input"]) == [{"role": "user", "content": "hi"}]
    assert orjson.loads(found["langfuse.observation.output"]) == {"role": "assistant", "content": "hello"}
    assert found["tracedrop.id"] == "gen-1705312800-abc123"


def test_a_failed_trace_is_an_error_observation_and_privacy_mode_sends_no_content() -> None:
    failed = dict(attributes(stored(FAILED), privacy_mode=True))
    private = dict(attributes(stored(TRACE), privacy_mode=True))

    assert failed["langfuse.observation.level"] == "ERROR"
    assert failed["langfuse.observation.status_message"] == "upstream unavailable"
    assert not {"langfuse.observation.input", "langfuse.observation.output"} & (set(failed) | set(private))
    assert not any(v == "hi" or "hello" in str(v) for v in private.values())
    assert "langfuse.observation.usage_details" in private  # numbers are not content


def test_the_langfuse_destination_sends_protobuf_to_the_otel_endpoint_with_basic_auth_and_its_environment() -> None:
    config = LangfuseConfig.model_validate({**FORM, "base_url": "https://langfuse.example.com/",
                                            "environment": "production"})

    target = config.target()
    data = target.encode([stored(TRACE)])

    assert target.method == "POST" and target.url == "https://langfuse.example.com/api/public/otel/v1/traces"
    assert target.headers(data, False) == {
        "Authorization": "Basic " + base64.b64encode(b"pk-lf-1:sk-lf-2").decode(),
        "x-langfuse-ingestion-version": "4", "Content-Type": "application/x-protobuf"}
    resource, [span] = spans(data)
    assert resource["langfuse.environment"] == "production" and span["langfuse.environment"] == "production"
    assert span["langfuse.observation.type"] == "generation"
    assert config.projects_url() == "https://langfuse.example.com/api/public/projects"
    assert LangfuseConfig.model_validate(FORM).traces_url() == \
        "https://us.cloud.langfuse.com/api/public/otel/v1/traces"


def test_the_secret_key_is_masked_and_moving_the_base_url_needs_it_again() -> None:
    saved = LangfuseDestination.model_validate({**FORM, "id": "d", "workspace": "w", "created_at": "now"})
    assert saved.public()["secret_key"] == MASK and saved.public()["public_key"] == "pk-lf-1"
    assert "sk-lf-2" not in str(saved.stored(secret_key="k" * 44))

    moved = LangfuseConfig.model_validate({**saved.merged({"base_url": "https://eu.example.com"})})
    assert saved.withheld(moved, {"base_url": "https://eu.example.com"}) == ["secret_key"]
    assert saved.withheld(LangfuseConfig.model_validate(saved.merged({"environment": "dev"})),
                          {"environment": "dev"}) == []
    assert {"public_key", "secret_key", "base_url"} == KINDS["langfuse"].config.CONNECTION


@pytest.mark.parametrize(("field", "value"), [
    ("environment", "Production"), ("environment", "langfuse-prod"), ("public_key", "pk:lf"),
    ("public_key", "pk lf"), ("base_url", "ftp://langfuse.example.com"), ("base_url", "https://u:p@x.example.com"),
    ("base_url", "https://x.example.com/?a=1"),
])
def test_fields_langfuse_would_refuse_are_refused_when_saved(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        LangfuseConfig.model_validate({**FORM, field: value})
    assert refused.value.errors()[0]["loc"] == (field,)


def test_a_webhook_with_langfuse_conventions_speaks_the_langfuse_dialect() -> None:
    data = body.encode("otlp_proto", [stored(TRACE)], privacy_mode=False, batched=False, conventions="langfuse")
    as_json = orjson.loads(body.encode("otlp_json", [stored(TRACE)], privacy_mode=False, batched=False,
                                       conventions="langfuse"))

    _, [span] = spans(data)
    assert span["langfuse.observation.type"] == "generation" and "gen_ai.request.model" not in span
    [json_span] = as_json["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert {"key": "langfuse.observation.type", "value": {"stringValue": "generation"}} in json_span["attributes"]
