"""The langsmith, grafana, newrelic and sentry forms: the URL and headers each derives, held to its vendor's documents
(cited in tests/integration/test_otlp_vendors.py), secrets masked and withheld on a move, privacy mode."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import ValidationError

from tests.unit.test_langfuse import spans
from tests.unit.test_otlp_output import TRACE, stored
from worker.destination import MASK, DestinationConfig
from worker.forms import form_fields
from worker.kinds import KINDS

FORMS: dict[str, dict[str, Any]] = {
    "langsmith": {"api_key": "lsv2_pt_k", "project": "bot"},
    "grafana": {"base_url": "https://otlp-gateway-prod-eu-west-2.grafana.net", "instance_id": "123456",
                "api_key": "glc_t"},
    "newrelic": {"license_key": "eu01xxNRAL"},
    "sentry": {"otlp_endpoint": "https://o1.ingest.us.sentry.io/api/456/integration/otlp/v1/traces",
               "dsn": "https://abc123@o1.ingest.us.sentry.io/456"},
}


def config(kind: str, **changes: Any) -> Any:
    return KINDS[kind].config.model_validate({"name": kind, "type": kind, **FORMS[kind], **changes})


@pytest.mark.parametrize(("kind", "changes", "url", "headers"), [
    ("langsmith", {}, "https://api.smith.langchain.com/otel/v1/traces",
     {"x-api-key": "lsv2_pt_k", "Langsmith-Project": "bot"}),
    ("langsmith", {"endpoint": "https://smith.example.com/api/v1/"}, "https://smith.example.com/api/v1/otel/v1/traces",
     {"x-api-key": "lsv2_pt_k", "Langsmith-Project": "bot"}),
    ("grafana", {}, "https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/traces",
     {"Authorization": "Basic " + base64.b64encode(b"123456:glc_t").decode()}),
    ("grafana", {"base_url": "https://otlp-gateway-prod-eu-west-2.grafana.net/otlp"},
     "https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/traces",
     {"Authorization": "Basic " + base64.b64encode(b"123456:glc_t").decode()}),
    ("newrelic", {}, "https://otlp.nr-data.net/v1/traces", {"api-key": "eu01xxNRAL"}),
    ("newrelic", {"region": "eu"}, "https://otlp.eu01.nr-data.net/v1/traces", {"api-key": "eu01xxNRAL"}),
    ("newrelic", {"region": "eu", "endpoint": "https://gov-otlp.nr-data.net"}, "https://gov-otlp.nr-data.net/v1/traces",
     {"api-key": "eu01xxNRAL"}),
    ("sentry", {}, "https://o1.ingest.us.sentry.io/api/456/integration/otlp/v1/traces",
     {"x-sentry-auth": "sentry sentry_key=abc123"}),
    ("sentry", {"dsn": "https://abc123:legacy@sentry.example.com/sentry/456"},
     "https://o1.ingest.us.sentry.io/api/456/integration/otlp/v1/traces",
     {"x-sentry-auth": "sentry sentry_key=abc123"}),
])
def test_each_form_becomes_the_documented_url_and_headers(kind: str, changes: dict[str, Any], url: str,
                                                          headers: dict[str, str]) -> None:
    target = config(kind, **changes).target()

    assert (target.method, target.url) == ("POST", url)
    assert target.headers(b"", False) == {**headers, "Content-Type": "application/x-protobuf"}


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_the_secret_is_masked_and_a_move_needs_it_again(kind: str) -> None:
    [secret] = KINDS[kind].config.SECRETS
    saved = KINDS[kind].destination.model_validate(
        {"name": kind, "type": kind, **FORMS[kind], "id": "d", "workspace": "w", "created_at": "now"})
    [where] = sorted(saved.LOCATION - {"region"})
    moved = {where: "https://elsewhere.example.com"}

    assert saved.public()[secret] == MASK
    assert FORMS[kind][secret] not in str(saved.stored(secret_key="k" * 44))
    assert saved.withheld(KINDS[kind].config.model_validate(saved.merged(moved)), moved) == [secret]


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_privacy_mode_sends_no_content_and_the_spans_speak_genai(kind: str) -> None:
    open_data = config(kind).target().encode([stored(TRACE)])
    private_data = config(kind, privacy_mode=True).target().encode([stored(TRACE)])

    _, [span] = spans(open_data)
    _, [private] = spans(private_data)
    assert span["gen_ai.request.model"] == "openai/gpt-4o" and "gen_ai.input.messages" in span
    assert not {"gen_ai.input.messages", "gen_ai.output.messages"} & set(private)
    assert b'"hi"' not in private_data and b"hello" not in private_data
    assert (span.get("langsmith.span.kind") == "llm") == (kind == "langsmith")
    assert (span.get("gen_ai.system") == TRACE["provider"]) == (kind == "langsmith")
    langsmith = {key: value for key, value in private.items() if key.startswith("langsmith.")}
    if kind == "langsmith":  # user, session and tags in LangSmith's names too; they are not content
        assert langsmith == {"langsmith.span.kind": "llm", "langsmith.metadata.user_id": TRACE["user"],
                             "langsmith.metadata.session_id": TRACE["session_id"], "langsmith.span.tags": "beta"}


@pytest.mark.parametrize(("kind", "field", "value"), [
    ("sentry", "dsn", "https://o1.ingest.us.sentry.io/456"), ("sentry", "dsn", "https://k@host/project"),
    ("sentry", "dsn", "https://k@[::1/456"), ("sentry", "dsn", "ftp://k@host/456"),
    ("sentry", "otlp_endpoint", "https://k:s@o1.ingest.us.sentry.io/api/456/integration/otlp/v1/traces"),
    ("grafana", "instance_id", "12a"), ("grafana", "base_url", "https://x.example.com/?a=1"),
    ("newrelic", "region", "ap"), ("newrelic", "license_key", "a b"), ("newrelic", "endpoint", "gov-otlp.nr-data.net"),
    ("langsmith", "project", " "), ("langsmith", "project", "a\nb"), ("langsmith", "api_key", "a:b"),
])
def test_malformed_fields_are_refused_by_name(kind: str, field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        config(kind, **{field: value})

    assert refused.value.errors()[0]["loc"] == (field,)
    assert field not in KINDS[kind].config.SECRETS or value not in str(refused.value)


@pytest.mark.parametrize(("kind", "fields"), [
    # OpenRouter's form for each (guides/features/broadcast/<name>.mdx), plus New Relic's endpoint override
    ("langsmith", [("api_key", "secret", True), ("project", "text", True), ("endpoint", "text", False)]),
    ("grafana", [("base_url", "text", True), ("instance_id", "text", True), ("api_key", "secret", True)]),
    ("newrelic", [("license_key", "secret", True), ("region", "select", False), ("endpoint", "text", False)]),
    ("sentry", [("otlp_endpoint", "text", True), ("dsn", "secret", True)]),
])
def test_each_form_asks_what_openrouters_form_asks(kind: str, fields: list[tuple[str, str, bool]]) -> None:
    shared = set(DestinationConfig.model_fields)

    form = [field.described() for field in form_fields(KINDS[kind].config, skip=shared)]

    assert [(field["name"], field["input"], field["required"]) for field in form] == fields
    assert all(field["label"] and field["help"] for field in form)
    assert {field["name"]: field["choices"] for field in form}.get("region", ["us", "eu"]) == ["us", "eu"]
