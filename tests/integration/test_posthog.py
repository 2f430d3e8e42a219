"""The posthog kind through the whole stack, against a receiver on loopback that holds it to PostHog's documented
contract (no PostHog runs here). Where each expectation comes from:

- PH_CAPTURE: https://posthog.com/docs/api/capture ("Batch events": ``POST /batch/``, JSON, the project API key as
  ``api_key`` in the body, the events in ``batch``, each with ``event``, ``properties`` holding ``distinct_id``,
  and ``timestamp``; "Invalid events": the capture API answers 200 to events it then drops).
- PH_GENERATION: https://posthog.com/docs/llm-analytics/manual-capture ("Generation": the ``$ai_generation`` event
  and its ``$ai_*`` properties); PH_SESSIONS: https://posthog.com/docs/llm-analytics/sessions (``$ai_session_id``).
- PH_FLAGS: https://posthog.com/docs/api/flags (``POST /flags?v=2`` with ``api_key`` and ``distinct_id``); for a key
  of no project it answers 401 (PostHog's feature-flags service, rust/feature-flags/src/api/errors.rs,
  ``TokenValidationError``).
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

API_KEY = "phc_tracedrop"
BATCH_PATH = "/batch/"  # PH_CAPTURE
FLAGS_PATH = "/flags?v=2"  # PH_FLAGS
TRACE = {
    "model": "openai/gpt-4o", "user": "user-42", "session_id": "sess-9", "provider": "OpenAI", "duration_ms": 1500,
    "status_code": 200,
    "trace": {"trace_id": "conversation-7", "trace_name": "support-bot", "generation_name": "answer", "env": "prod"},
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52},
    "cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
    "request": {"messages": [{"role": "user", "content": "the secret question"}], "temperature": 0.2},
    "response": {"choices": [{"message": {"role": "assistant", "content": "the private answer"}}]},
}


def posthog_api(request: Request) -> Answer:
    """What PostHog answers: flags for its project's key, 401 for any other (PH_FLAGS); 200 to a batch whatever the
    key (PH_CAPTURE: keys are not checked against projects there); 404 elsewhere."""
    body = orjson.loads(request.body) if request.body else {}
    if request.method == "POST" and request.path == FLAGS_PATH:
        if body.get("api_key") != API_KEY or not body.get("distinct_id"):
            return 401, {}, b"The provided API key is invalid or has expired."
        return 200, {"Content-Type": "application/json"}, b'{"flags":{},"errorsWhileComputingFlags":false}'
    if request.method == "POST" and request.path == BATCH_PATH and "batch" in body:
        return 200, {"Content-Type": "application/json"}, b'{"status":"Ok"}'
    return 404, {}, b"Not Found"


@pytest.fixture()
def posthog() -> Iterator[Receiver]:
    server = start_receiver()
    server.behave = posthog_api
    yield server
    server.stop()


def form(receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return {"name": "posthog", "type": "posthog", "api_key": API_KEY, "host": receiver.origin, **fields}


def captured(receiver: Receiver) -> list[tuple[Request, dict[str, Any], dict[str, Any]]]:
    """Every event the receiver took: (its request, the request's body, the event)."""
    found = []
    for request in list(receiver.requests):
        if request.path == BATCH_PATH and request.status == 200:
            body = orjson.loads(request.body)
            found += [(request, body, event) for event in body["batch"]]
    return found


def test_a_trace_arrives_in_posthog_as_an_ai_generation_event(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, posthog: Receiver
) -> None:
    # Given a PostHog destination whose connection test proved the project key (PH_FLAGS), then sent an empty batch
    tested = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test", json=form(posthog))
    assert tested.json() == {"ok": True, "status": 200, "flags": 200}, tested.text
    created = admin.destination(workspace, form(posthog))
    assert created["api_key"] == "********" and created["host"] == posthog.origin
    assert API_KEY not in orjson.dumps(admin.http.get(f"/v1/workspaces/{workspace}/destinations").json()).decode()
    flags, empty = posthog.requests[-2:]
    assert (flags.method, flags.path, orjson.loads(flags.body)["api_key"]) == ("POST", FLAGS_PATH, API_KEY)
    assert (empty.path, orjson.loads(empty.body)) == (BATCH_PATH, {"api_key": API_KEY, "batch": []})

    # When a trace is accepted
    assert ingest.post("/v1/traces", json={"traces": [make_trace(0, **TRACE)]}).status_code == 202

    # Then PostHog's batch capture gets one $ai_generation event (PH_CAPTURE "Batch events")
    [(request, body, event)] = wait_for(lambda: captured(posthog), what="the event sent to PostHog")
    assert request.method == "POST" and request.headers["content-type"] == "application/json"
    assert body["api_key"] == API_KEY
    assert event["event"] == "$ai_generation" and event["timestamp"] == "2024-01-15T10:00:00.000Z"
    properties = event["properties"]
    assert properties["distinct_id"] == "user-42"  # PH_CAPTURE: distinct_id in properties
    # PH_GENERATION: core, cost and model parameter properties; PH_SESSIONS
    assert properties["$ai_trace_id"] == "conversation-7" and properties["$ai_span_name"] == "answer"
    assert properties["$ai_model"] == "openai/gpt-4o" and properties["$ai_provider"] == "OpenAI"
    assert properties["$ai_session_id"] == "sess-9"
    assert (properties["$ai_input_tokens"], properties["$ai_output_tokens"]) == (12, 40)
    assert (properties["$ai_input_cost_usd"], properties["$ai_output_cost_usd"],
            properties["$ai_total_cost_usd"]) == (0.00003, 0.0004, 0.00043)
    assert properties["$ai_latency"] == 1.5 and properties["$ai_http_status"] == 200
    assert properties["$ai_is_error"] is False and properties["$ai_temperature"] == 0.2
    assert properties["$ai_input"] == [{"role": "user", "content": "the secret question"}]
    assert properties["$ai_output_choices"] == [{"role": "assistant", "content": "the private answer"}]
    assert properties["trace_name"] == "support-bot" and properties["metadata_env"] == "prod"
    wait_for(lambda: admin.status(workspace, created["id"])["delivered"] == 1, what="status delivered 1")


def test_the_posthog_form_takes_the_project_key_as_a_secret_and_a_host(admin: stack.Admin) -> None:
    types = {kind["type"]: kind for kind in admin.http.get("/v1/destination-types").json()["types"]}

    fields = {field["name"]: field for field in types["posthog"]["fields"]}
    assert types["posthog"]["title"] == "PostHog" and list(fields) == ["api_key", "host"]
    assert fields["api_key"]["secret"] and fields["api_key"]["required"]
    assert fields["host"]["default"] == "https://us.i.posthog.com" and not fields["host"]["required"]


def test_in_privacy_mode_no_content_reaches_posthog(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, posthog: Receiver
) -> None:
    admin.destination(workspace, form(posthog, privacy_mode=True))

    assert ingest.post("/v1/traces", json={"traces": [make_trace(1, **TRACE)]}).status_code == 202

    [(request, _, event)] = wait_for(lambda: captured(posthog), what="the event sent to PostHog")
    assert b"the secret question" not in request.body and b"the private answer" not in request.body
    assert "$ai_input" not in event["properties"] and "$ai_output_choices" not in event["properties"]
    assert event["properties"]["$ai_input_tokens"] == 12  # counts are not content


def test_a_wrong_project_key_fails_the_test_as_unauthorized_and_saves_nothing(
    admin: stack.Admin, workspace: str, posthog: Receiver
) -> None:
    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=form(posthog, api_key="phc_wrong"))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and "project API key" in error["message"]
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}
    assert [(r.method, r.path) for r in posthog.requests] == [("POST", FLAGS_PATH)]  # no batch was sent


@pytest.mark.parametrize(("missing", "says"), [(FLAGS_PATH, "No PostHog at the host"),
                                               (BATCH_PATH, "no PostHog capture API")])
def test_a_host_without_posthog_or_its_capture_api_is_not_found(
    admin: stack.Admin, workspace: str, posthog: Receiver, missing: str, says: str
) -> None:
    posthog.behave = lambda request: (404, {}, b"Not Found") if request.path == missing else posthog_api(request)

    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=form(posthog))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "not_found" and says in error["message"]
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}
