"""The langfuse kind through the whole stack, against a receiver on loopback that holds it to Langfuse's documented
contract (no Langfuse runs here). Where each expectation comes from:

- LANGFUSE_OTEL: https://langfuse.com/integrations/native/opentelemetry ("OpenTelemetry endpoint": the traces endpoint
  ``/api/public/otel/v1/traces``, HTTP/protobuf, ``Authorization: Basic base64(public_key:secret_key)``;
  "Property Mapping": the ``langfuse.*`` attribute names and types).
- LANGFUSE_API: https://api.reference.langfuse.com (introduction: Basic auth with the public key as username and the
  secret key as password; "Direct OpenTelemetry exporters must send the x-langfuse-ingestion-version: 4 header";
  ``GET /api/public/projects`` answers the project the keys belong to, ``{"data": [{"id", "name", ...}]}``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.receiver import Answer, Receiver, Request, exported, start_receiver

pytestmark = pytest.mark.usefixtures("running")

PUBLIC, SECRET = "pk-lf-tracedrop", "sk-lf-tracedrop"
BASIC = "Basic " + base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()  # LANGFUSE_OTEL, LANGFUSE_API
TRACES_PATH = "/api/public/otel/v1/traces"  # LANGFUSE_OTEL
PROJECTS_PATH = "/api/public/projects"  # LANGFUSE_API
PROJECT = {"id": "cl-project", "name": "tracedrop-tests", "metadata": {}}
TRACE = {
    "model": "openai/gpt-4o", "user": "user-42", "session_id": "sess-9", "provider": "OpenAI",
    "trace": {"trace_name": "support-bot", "generation_name": "answer", "env": "prod"},
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52},
    "cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
    "request": {"messages": [{"role": "user", "content": "the secret question"}], "temperature": 0.2},
    "response": {"choices": [{"message": {"role": "assistant", "content": "the private answer"}}]},
}


def langfuse_api(request: Request) -> Answer:
    """What Langfuse answers: 401 without the project's keys, the project on GET /api/public/projects, 200 for an
    export to the OTLP endpoint, 404 elsewhere."""
    if request.headers.get("authorization") != BASIC:
        return 401, {"Content-Type": "application/json"}, b'{"message":"Invalid credentials"}'
    if request.method == "GET" and request.path == PROJECTS_PATH:
        return 200, {"Content-Type": "application/json"}, orjson.dumps({"data": [PROJECT]})
    if request.method == "POST" and request.path == TRACES_PATH:
        return 200, {"Content-Type": "application/json"}, b"{}"
    return 404, {}, b"Not Found"


@pytest.fixture()
def langfuse() -> Iterator[Receiver]:
    server = start_receiver()
    server.behave = langfuse_api
    yield server
    server.stop()


def form(receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return {"name": "langfuse", "type": "langfuse", "public_key": PUBLIC, "secret_key": SECRET,
            "base_url": receiver.origin, **fields}


def test_a_trace_arrives_in_langfuse_as_a_generation_with_its_environment(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, langfuse: Receiver
) -> None:
    # Given a Langfuse destination whose connection test read the keys' project
    tested = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test", json=form(langfuse))
    assert tested.json() == {"ok": True, "status": 200, "project": "tracedrop-tests"}, tested.text
    created = admin.destination(workspace, form(langfuse, environment="production"))
    assert created["secret_key"] == "********" and created["public_key"] == PUBLIC
    assert SECRET not in orjson.dumps(admin.http.get(f"/v1/workspaces/{workspace}/destinations").json()).decode()
    projects, empty = langfuse.requests[-2:]
    assert (projects.method, projects.path, projects.headers["authorization"]) == ("GET", PROJECTS_PATH, BASIC)
    assert (empty.method, empty.path, empty.body) == ("POST", TRACES_PATH, b"")

    # When a trace is accepted
    assert ingest.post("/v1/traces", json={"traces": [make_trace(0, **TRACE)]}).status_code == 202

    # Then Langfuse gets it as a generation: OTLP protobuf, Basic auth, ingestion version 4 (LANGFUSE_OTEL/_API)
    [(request, resource, span)] = wait_for(lambda: exported(langfuse), what="the trace exported to Langfuse")
    assert request.path == TRACES_PATH and request.headers["content-type"] == "application/x-protobuf"
    assert request.headers["authorization"] == BASIC and request.headers["x-langfuse-ingestion-version"] == "4"
    # attribute names and types: LANGFUSE_OTEL "Property Mapping"
    assert resource["langfuse.environment"] == "production" and span["langfuse.environment"] == "production"
    assert span["name"] == "answer" and span["tracedrop.id"] == "gen-0"
    assert span["langfuse.observation.type"] == "generation"
    assert span["langfuse.observation.model.name"] == "openai/gpt-4o"
    assert orjson.loads(span["langfuse.observation.usage_details"]) == {"input": 12, "output": 40, "total": 52}
    assert orjson.loads(span["langfuse.observation.cost_details"]) == {"input": 0.00003, "output": 0.0004,
                                                                       "total": 0.00043}
    assert span["langfuse.trace.name"] == "support-bot" and span["langfuse.trace.metadata.env"] == "prod"
    assert span["langfuse.user.id"] == "user-42" and span["langfuse.session.id"] == "sess-9"
    assert orjson.loads(span["langfuse.observation.input"]) == [{"role": "user", "content": "the secret question"}]
    assert orjson.loads(span["langfuse.observation.output"])["content"] == "the private answer"
    wait_for(lambda: admin.status(workspace, created["id"])["delivered"] == 1, what="status delivered 1")


def test_in_privacy_mode_no_content_reaches_langfuse(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, langfuse: Receiver
) -> None:
    admin.destination(workspace, form(langfuse, privacy_mode=True))

    assert ingest.post("/v1/traces", json={"traces": [make_trace(1, **TRACE)]}).status_code == 202

    [(request, _, span)] = wait_for(lambda: exported(langfuse), what="the trace exported to Langfuse")
    assert b"the secret question" not in request.body and b"the private answer" not in request.body
    assert "langfuse.observation.input" not in span and "langfuse.observation.output" not in span
    assert span["langfuse.observation.usage_details"]  # counts are not content


def test_a_wrong_secret_key_fails_the_test_as_unauthorized_and_saves_nothing(
    admin: stack.Admin, workspace: str, langfuse: Receiver
) -> None:
    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations",
                               json=form(langfuse, secret_key="sk-lf-wrong"))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and "public and secret keys" in error["message"]
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}
    assert [(r.method, r.path) for r in langfuse.requests] == [("GET", PROJECTS_PATH)]  # no export was tried


@pytest.mark.parametrize(("missing", "says"), [(PROJECTS_PATH, "No Langfuse API"), (TRACES_PATH, "3.22")])
def test_a_base_url_without_langfuse_or_its_otel_endpoint_is_not_found(
    admin: stack.Admin, workspace: str, langfuse: Receiver, missing: str, says: str
) -> None:
    langfuse.behave = lambda request: (404, {}, b"Not Found") if request.path == missing else langfuse_api(request)

    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=form(langfuse))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "not_found" and says in error["message"]
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}


def test_destination_types_lists_every_kind_with_its_form_to_admins_only(
    admin: stack.Admin, api_server: stack.Api
) -> None:
    answer = admin.http.get("/v1/destination-types")

    assert answer.status_code == 200, answer.text
    types = {kind["type"]: kind for kind in answer.json()["types"]}
    assert {"s3", "webhook", "langfuse"} <= set(types)
    fields = {field["name"]: field for field in types["langfuse"]["fields"]}
    assert types["langfuse"]["title"] == "Langfuse"
    assert list(fields) == ["public_key", "secret_key", "base_url", "environment"]
    assert fields["secret_key"]["secret"] and fields["secret_key"]["required"]
    assert fields["public_key"]["required"] and not fields["public_key"]["secret"]
    assert fields["base_url"]["default"] == "https://us.cloud.langfuse.com" and not fields["base_url"]["required"]
    assert all(field["label"] and field["help"] for field in fields.values())
    conventions = {f["name"]: f for f in types["webhook"]["fields"]}["conventions"]
    assert conventions["choices"] == ["genai", "langfuse", "openinference"] and conventions["default"] == "genai"
    assert conventions["shown_when"] == {"field": "format", "values": ["otlp_json", "otlp_proto"]}
    assert {f["name"] for f in answer.json()["shared_fields"]} >= {"name", "privacy_mode", "sampling_rate"}
    assert httpx.get(admin.http.base_url.join("/v1/destination-types")).status_code == 401
