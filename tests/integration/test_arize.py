"""The arize kind through the whole stack, against a receiver on loopback that holds it to Arize AX's documented
contract (no Arize runs here). Where each expectation comes from:

- ARIZE_OTEL: Arize's own exporter, github.com/Arize-ai/arize-otel-python, ``src/arize/otel/otel.py``
  (``_get_arize_auth_headers``: ``authorization`` and ``api_key`` carry the API key, ``arize-space-id`` and
  ``space_id`` the space, ``arize-interface: otel``; ``Endpoint.ARIZE``: the collector https://otlp.arize.com).
- ARIZE_RESOURCE: https://arize.com/docs/ax/concepts/otel-openinference/resource ("Arize AX-Specific Resource
  Attributes": the project is the resource attribute ``openinference.project.name``).
- OTLP_HTTP: https://opentelemetry.io/docs/specs/otlp/#otlphttp (traces go to ``/v1/traces`` under the collector's
  base URL, a binary protobuf ``ExportTraceServiceRequest`` with ``Content-Type: application/x-protobuf``).
- OPENINFERENCE: github.com/Arize-ai/openinference, ``spec/semantic_conventions.md`` (the span attributes; Arize AX
  "uses the OpenInference semantic convention", OpenRouterTeam/docs ``guides/features/broadcast/arize.mdx``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.receiver import Answer, Receiver, Request, exported, start_receiver

pytestmark = pytest.mark.usefixtures("running")

API_KEY, SPACE = "ak-tracedrop-0123", "U3BhY2U6MTIzNDU6YWJjZA=="
TRACES_PATH = "/v1/traces"  # OTLP_HTTP
TRACE = {
    "model": "anthropic/claude-sonnet-4", "user": "user-42", "session_id": "sess-9", "provider": "Anthropic",
    "trace": {"generation_name": "classify", "dataset": "feedback"},
    "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    "cost": {"input": 0.00006, "output": 0.000075, "total": 0.000135},
    "request": {"messages": [{"role": "user", "content": "classify the secret text"}]},
    "response": {"choices": [{"message": {"role": "assistant", "content": "a private label"}}]},
}


def arize_collector(request: Request) -> Answer:
    """What Arize's collector answers: 401 without the space's key and id (ARIZE_OTEL's headers), 200 for an
    export to the traces path, 404 elsewhere."""
    if request.headers.get("authorization") != API_KEY or request.headers.get("arize-space-id") != SPACE:
        return 401, {"Content-Type": "text/plain"}, b"invalid api key or space id"
    if request.method == "POST" and request.path == TRACES_PATH:
        return 200, {"Content-Type": "application/x-protobuf"}, b""
    return 404, {}, b"Not Found"


@pytest.fixture()
def arize() -> Iterator[Receiver]:
    server = start_receiver()
    server.behave = arize_collector
    yield server
    server.stop()


def form(receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return {"name": "arize", "type": "arize", "api_key": API_KEY, "space_key": SPACE, "project": "support-bot",
            "base_url": receiver.origin, **fields}


def test_a_trace_arrives_in_arize_as_an_openinference_llm_span_of_the_project(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, arize: Receiver
) -> None:
    # Given an Arize AX destination whose connection test (an empty export with the headers) passed
    tested = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test", json=form(arize))
    assert tested.json() == {"ok": True, "status": 200}, tested.text
    created = admin.destination(workspace, form(arize))
    assert created["api_key"] == "********" and created["space_key"] == SPACE
    empty = arize.requests[-1]  # the test run by the save
    assert (empty.method, empty.path, empty.body) == ("POST", TRACES_PATH, b"")

    # When a trace is accepted
    assert ingest.post("/v1/traces", json={"traces": [make_trace(0, **TRACE)]}).status_code == 202

    # Then the collector gets OTLP protobuf (OTLP_HTTP) with Arize's headers (ARIZE_OTEL)
    [(request, resource, span)] = wait_for(lambda: exported(arize), what="the trace exported to Arize")
    assert request.path == TRACES_PATH and request.headers["content-type"] == "application/x-protobuf"
    assert (request.headers["authorization"], request.headers["api_key"]) == (API_KEY, API_KEY)
    assert (request.headers["arize-space-id"], request.headers["space_id"]) == (SPACE, SPACE)
    assert request.headers["arize-interface"] == "otel"
    assert resource["openinference.project.name"] == "support-bot"  # ARIZE_RESOURCE
    # the span in OpenInference's names and types (OPENINFERENCE)
    assert span["name"] == "classify" and span["openinference.span.kind"] == "LLM"
    assert span["llm.model_name"] == "anthropic/claude-sonnet-4"
    assert span["llm.provider"] == "anthropic" and span["llm.system"] == "anthropic"
    assert (span["llm.token_count.prompt"], span["llm.token_count.completion"], span["llm.token_count.total"]) == \
        ("20", "5", "25")  # int64 values, as protobuf's JSON mapping writes them
    assert (span["llm.cost.prompt"], span["llm.cost.completion"], span["llm.cost.total"]) == \
        (0.00006, 0.000075, 0.000135)
    assert span["user.id"] == "user-42" and span["session.id"] == "sess-9"
    assert orjson.loads(span["metadata"]) == {"dataset": "feedback"}
    assert span["llm.input_messages.0.message.role"] == "user"
    assert span["llm.input_messages.0.message.content"] == "classify the secret text"
    assert span["llm.output_messages.0.message.content"] == "a private label"
    assert span["input.mime_type"] == "application/json" and span["output.mime_type"] == "application/json"
    wait_for(lambda: admin.status(workspace, created["id"])["delivered"] == 1, what="status delivered 1")


def test_in_privacy_mode_no_content_reaches_arize(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, arize: Receiver
) -> None:
    admin.destination(workspace, form(arize, privacy_mode=True))

    assert ingest.post("/v1/traces", json={"traces": [make_trace(1, **TRACE)]}).status_code == 202

    [(request, _, span)] = wait_for(lambda: exported(arize), what="the trace exported to Arize")
    assert b"the secret text" not in request.body and b"a private label" not in request.body
    assert not [name for name in span if name.startswith(("input.", "output.", "llm.input_", "llm.output_"))]
    assert span["llm.token_count.total"] == "25"  # counts are not content


@pytest.mark.parametrize("wrong", [{"api_key": "ak-wrong"}, {"space_key": "another-space"}])
def test_a_wrong_key_or_space_fails_the_test_as_unauthorized_and_saves_nothing(
    admin: stack.Admin, workspace: str, arize: Receiver, wrong: dict[str, str]
) -> None:
    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=form(arize, **wrong))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and "space key" in error["message"]
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}
