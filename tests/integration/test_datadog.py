"""The datadog kind through the whole stack, against a receiver on loopback that holds it to Datadog's documented
contract (no Datadog runs here). Where each expectation comes from:

- DD_API: https://docs.datadoghq.com/llm_observability/instrumentation/api/ ("Spans API": ``POST
  /api/intake/llm-obs/v1/trace/spans``, headers ``DD-API-KEY`` and ``Content-Type: application/json``, a 202 with an
  empty body on success; the body ``{"data": {"type": "span", "attributes": {"ml_app", "tags", "spans"}}}`` and the
  Span, Meta, IO, Message and Metrics fields).
- DD_VALIDATE: https://docs.datadoghq.com/api/latest/authentication/#validate-api-key (``GET /api/v1/validate`` with
  ``DD-API-KEY``: ``{"valid": true}``, "If invalid, a 403 is returned").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.receiver import Answer, Receiver, Request, start_receiver

pytestmark = pytest.mark.usefixtures("running")

API_KEY = "dd-api-key-tracedrop"
SPANS_PATH = "/api/intake/llm-obs/v1/trace/spans"  # DD_API
VALIDATE_PATH = "/api/v1/validate"  # DD_VALIDATE
TRACE = {
    "model": "openai/gpt-4o", "user": "user-42", "session_id": "sess-9", "provider": "OpenAI", "duration_ms": 1500,
    "trace": {"generation_name": "answer", "env": "prod"},
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52},
    "cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
    "request": {"messages": [{"role": "user", "content": "the secret question"}], "temperature": 0.2},
    "response": {"choices": [{"message": {"role": "assistant", "content": "the private answer"}}]},
}


def datadog_api(request: Request) -> Answer:
    """What Datadog answers: 403 without the API key (DD_VALIDATE, DD_API), ``{"valid": true}`` on the validation
    endpoint, 202 with no body for spans (DD_API), 404 elsewhere."""
    if request.headers.get("dd-api-key") != API_KEY:
        return 403, {"Content-Type": "application/json"}, b'{"errors":["Forbidden"]}'
    if request.method == "GET" and request.path == VALIDATE_PATH:
        return 200, {"Content-Type": "application/json"}, b'{"valid":true}'
    if request.method == "POST" and request.path == SPANS_PATH:
        return 202, {}, b""
    return 404, {}, b"Not Found"


@pytest.fixture()
def datadog() -> Iterator[Receiver]:
    server = start_receiver()
    server.behave = datadog_api
    yield server
    server.stop()


def form(receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return {"name": "datadog", "type": "datadog", "api_key": API_KEY, "url": receiver.origin,
            "ml_app": "support-bot", **fields}


def sent_spans(receiver: Receiver) -> list[tuple[Request, dict[str, Any], dict[str, Any]]]:
    """Every span the receiver took: (its request, the request's attributes, the span)."""
    found = []
    for request in list(receiver.requests):
        if request.method == "POST" and request.status == 202:
            attributes = orjson.loads(request.body)["data"]["attributes"]
            found += [(request, attributes, span) for span in attributes["spans"]]
    return found


def test_a_trace_arrives_in_datadog_as_an_llm_span_of_the_ml_app(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, datadog: Receiver
) -> None:
    # Given a Datadog destination whose connection test validated the key (DD_VALIDATE)
    tested = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test", json=form(datadog))
    assert tested.json() == {"ok": True, "status": 200, "valid": True}, tested.text
    created = admin.destination(workspace, form(datadog))
    assert created["api_key"] == "********" and created["ml_app"] == "support-bot"
    assert API_KEY not in orjson.dumps(admin.http.get(f"/v1/workspaces/{workspace}/destinations").json()).decode()
    validate = datadog.requests[-1]
    assert (validate.method, validate.path, validate.headers["dd-api-key"]) == ("GET", VALIDATE_PATH, API_KEY)

    # When a trace is accepted
    assert ingest.post("/v1/traces", json={"traces": [make_trace(0, **TRACE)]}).status_code == 202

    # Then Datadog's spans intake gets it as an LLM span: JSON, DD-API-KEY (DD_API "Spans API")
    [(request, attributes, span)] = wait_for(lambda: sent_spans(datadog), what="the span sent to Datadog")
    assert request.path == SPANS_PATH and request.headers["content-type"] == "application/json"
    assert request.headers["dd-api-key"] == API_KEY
    assert orjson.loads(request.body)["data"]["type"] == "span"  # DD_API "SpansRequestData"
    assert attributes["ml_app"] == "support-bot"  # DD_API "SpansPayload"
    # DD_API "Span": required fields, ids as strings, a root's parent "undefined", nanoseconds
    assert {"name", "span_id", "trace_id", "parent_id", "start_ns", "duration", "meta"} <= set(span)
    assert isinstance(span["span_id"], str) and isinstance(span["trace_id"], str)
    assert span["parent_id"] == "undefined" and span["name"] == "answer" and span["status"] == "ok"
    assert span["start_ns"] == 1705312800_000_000_000 and span["duration"] == 1500_000_000
    assert span["session_id"] == "sess-9" and "user_id:user-42" in span["tags"]
    # DD_API "Meta", "IO", "Message"; the metadata keys for LLM spans
    meta = span["meta"]
    assert meta["kind"] == "llm"
    assert meta["input"] == {"messages": [{"role": "user", "content": "the secret question"}]}
    assert meta["output"] == {"messages": [{"role": "assistant", "content": "the private answer"}]}
    assert meta["metadata"]["model_name"] == "openai/gpt-4o" and meta["metadata"]["model_provider"] == "OpenAI"
    assert meta["metadata"]["temperature"] == 0.2 and meta["metadata"]["env"] == "prod"
    # DD_API "Metrics"; costs in dollars: https://docs.datadoghq.com/llm_observability/instrumentation/sdk/
    assert span["metrics"] == {"input_tokens": 12, "output_tokens": 40, "total_tokens": 52,
                               "input_cost": 0.00003, "output_cost": 0.0004, "total_cost": 0.00043}
    wait_for(lambda: admin.status(workspace, created["id"])["delivered"] == 1, what="status delivered 1")


def test_the_datadog_form_is_openrouters_with_the_api_key_secret(admin: stack.Admin) -> None:
    types = {kind["type"]: kind for kind in admin.http.get("/v1/destination-types").json()["types"]}

    fields = {field["name"]: field for field in types["datadog"]["fields"]}
    assert types["datadog"]["title"] == "Datadog" and list(fields) == ["api_key", "ml_app", "url"]
    assert fields["api_key"]["secret"] and fields["api_key"]["required"] and fields["ml_app"]["required"]
    assert fields["url"]["default"] == "https://api.us5.datadoghq.com" and not fields["url"]["required"]


def test_in_privacy_mode_no_content_reaches_datadog(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, datadog: Receiver
) -> None:
    admin.destination(workspace, form(datadog, privacy_mode=True))

    assert ingest.post("/v1/traces", json={"traces": [make_trace(1, **TRACE)]}).status_code == 202

    [(request, _, span)] = wait_for(lambda: sent_spans(datadog), what="the span sent to Datadog")
    assert b"the secret question" not in request.body and b"the private answer" not in request.body
    assert "input" not in span["meta"] and "output" not in span["meta"]
    assert span["metrics"]["input_tokens"] == 12  # counts are not content


def test_a_wrong_api_key_fails_the_test_as_unauthorized_and_saves_nothing(
    admin: stack.Admin, workspace: str, datadog: Receiver
) -> None:
    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=form(datadog, api_key="wrong"))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and "API key" in error["message"]
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}
    assert [(r.method, r.path) for r in datadog.requests] == [("GET", VALIDATE_PATH)]  # no span was sent


def test_a_url_without_a_datadog_api_is_not_found(admin: stack.Admin, workspace: str, datadog: Receiver) -> None:
    datadog.behave = lambda request: (404, {}, b"Not Found")

    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=form(datadog))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "not_found" and "No Datadog API" in error["message"]
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}
