"""The phoenix kind through the whole stack, against a real Arize Phoenix (``phoenix serve``, tests/phoenix.py) with
authentication on: one Phoenix for the module, an API key created through its own REST API, and what it stored read
back through that API (``GET /v1/projects/{project}/spans``), as a user would find it. Each test sends traces of its
own ids (Phoenix files a span under the trace of its id, whichever project that trace is in).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.phoenix import Phoenix, phoenix
from tests.receiver import Receiver, start_receiver

pytestmark = pytest.mark.usefixtures("running")

TRACE = {
    "model": "openai/gpt-4o", "user": "user-42", "session_id": "sess-9", "provider": "OpenAI",
    "trace": {"trace_name": "support-bot", "generation_name": "answer", "env": "prod", "tags": ["beta"]},
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52, "cached_tokens": 3},
    "cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
    "request": {"messages": [{"role": "system", "content": "be brief"},
                             {"role": "user", "content": "the secret question"}], "temperature": 0.2},
    "response": {"choices": [{"message": {"role": "assistant", "content": "the private answer"}}]},
    "finish_reason": "stop",
}
FAILED = {"model": "openai/gpt-4o", "status_code": 503, "status_message": "upstream unavailable"}


@pytest.fixture(scope="module")
def phoenix_server(workdir: Path) -> Iterator[Phoenix]:
    server = phoenix(workdir, auth=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_key(phoenix_server: Phoenix) -> str:
    return phoenix_server.create_api_key("tracedrop")


@pytest.fixture()
def project() -> str:
    return f"tracedrop-{uuid.uuid4().hex[:8]}"


def form(server: Phoenix, project: str, **fields: Any) -> dict[str, Any]:
    return {"name": "phoenix", "type": "phoenix", "endpoint": server.url, "project": project, **fields}


def spans(server: Phoenix, project: str) -> list[dict[str, Any]]:
    """The project's spans as Phoenix's REST API answers them (none while the project does not exist)."""
    with server.http() as client:
        answer = client.get(f"/v1/projects/{project}/spans")
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    return list(answer.json()["data"])


def test_every_listener_of_phoenix_is_on_loopback(phoenix_server: Phoenix) -> None:
    listeners = phoenix_server.listeners()

    assert {port for _, port in listeners} >= {phoenix_server.port, phoenix_server.grpc_port}
    for address, port in listeners:
        ip = ipaddress.ip_address(address)
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        assert (mapped or ip).is_loopback, f"Phoenix listens on {address}:{port}"


def test_traces_arrive_in_phoenix_as_llm_spans_of_the_project(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, phoenix_server: Phoenix, api_key: str, project: str
) -> None:
    # Given a Phoenix destination whose connection test passed with the key
    tested = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test",
                             json=form(phoenix_server, project, api_key=api_key))
    assert tested.json() == {"ok": True, "status": 200, "project": project}, tested.text
    created = admin.destination(workspace, form(phoenix_server, project, api_key=api_key))
    assert created["api_key"] == "********"
    assert api_key not in orjson.dumps(admin.http.get(f"/v1/workspaces/{workspace}/destinations").json()).decode()

    # When a trace and a failed call are accepted
    traces = [make_trace(0, **TRACE), make_trace(1, **FAILED)]
    assert ingest.post("/v1/traces", json={"traces": traces}).status_code == 202

    # Then Phoenix files both under the project, as LLM spans with what the trace said
    stored = wait_for(lambda: len(s := spans(phoenix_server, project)) == 2 and s, what="two spans in the project")
    found = {span["attributes"]["tracedrop.id"]: span for span in stored}
    span, failed = found["gen-0"], found["gen-1"]
    assert span["span_kind"] == "LLM" and failed["span_kind"] == "LLM"
    assert span["name"] == "answer" and span["status_code"] == "UNSET"
    attributes = span["attributes"]
    assert attributes["llm.model_name"] == "openai/gpt-4o" and attributes["llm.provider"] == "openai"
    assert (attributes["llm.token_count.prompt"], attributes["llm.token_count.completion"],
            attributes["llm.token_count.total"], attributes["llm.token_count.prompt_details.cache_read"]) == \
        (12, 40, 52, 3)
    assert (attributes["llm.cost.prompt"], attributes["llm.cost.completion"], attributes["llm.cost.total"]) == \
        (0.00003, 0.0004, 0.00043)
    assert [(attributes[f"llm.input_messages.{i}.message.role"], attributes[f"llm.input_messages.{i}.message.content"])
            for i in (0, 1)] == [("system", "be brief"), ("user", "the secret question")]
    assert attributes["llm.output_messages.0.message.role"] == "assistant"
    assert attributes["llm.output_messages.0.message.content"] == "the private answer"
    assert orjson.loads(attributes["input.value"])[1]["content"] == "the secret question"
    assert attributes["user.id"] == "user-42" and attributes["session.id"] == "sess-9"
    assert attributes["metadata.env"] == "prod" and attributes["metadata.trace_name"] == "support-bot"
    assert attributes["tag.tags"] == ["beta"] and attributes["llm.finish_reason"] == "stop"
    assert orjson.loads(attributes["llm.invocation_parameters"]) == {"temperature": 0.2}
    assert failed["status_code"] == "ERROR" and failed["status_message"] == "upstream unavailable"
    wait_for(lambda: admin.status(workspace, created["id"])["delivered"] == 2, what="status delivered 2")


def test_in_privacy_mode_no_content_reaches_phoenix(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, phoenix_server: Phoenix, api_key: str, project: str
) -> None:
    admin.destination(workspace, form(phoenix_server, project, api_key=api_key, privacy_mode=True))

    assert ingest.post("/v1/traces", json={"traces": [make_trace(2, **TRACE)]}).status_code == 202

    [span] = wait_for(lambda: spans(phoenix_server, project), what="the span in the Phoenix project")
    stored = orjson.dumps(span).decode()
    assert "the secret question" not in stored and "the private answer" not in stored and "be brief" not in stored
    assert not [name for name in span["attributes"]
                if name.startswith(("input.", "output.", "llm.input_messages", "llm.output_messages"))]
    assert span["span_kind"] == "LLM" and span["attributes"]["llm.token_count.total"] == 52  # counts are not content


@pytest.mark.parametrize("key", ["wrong-key", None])
def test_a_wrong_or_missing_key_fails_the_test_as_unauthorized_and_saves_nothing(
    admin: stack.Admin, workspace: str, phoenix_server: Phoenix, project: str, key: str | None
) -> None:
    fields = {} if key is None else {"api_key": key}

    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations",
                               json=form(phoenix_server, project, **fields))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and "API key" in error["message"]
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}


def test_an_endpoint_without_phoenix_is_not_found(admin: stack.Admin, workspace: str) -> None:
    receiver: Receiver = start_receiver()
    receiver.behave = lambda _: (404, {"Content-Type": "application/json"}, b'{"detail":"Not Found"}')
    try:
        response = admin.http.post(f"/v1/workspaces/{workspace}/destinations",
                                   json=form_at(receiver.origin, "p"))
    finally:
        receiver.stop()

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "not_found" and "No Phoenix REST API" in error["message"]
    assert [(r.method, r.path) for r in receiver.requests] == [("GET", "/v1/projects?limit=1")]


def form_at(endpoint: str, project: str) -> dict[str, Any]:
    return {"name": "phoenix", "type": "phoenix", "endpoint": endpoint, "project": project}


def test_a_webhook_with_openinference_conventions_reaches_phoenix_too(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, phoenix_server: Phoenix, api_key: str
) -> None:
    admin.destination(workspace, {"name": "by hand", "type": "webhook", "format": "otlp_proto",
                                  "conventions": "openinference", "url": f"{phoenix_server.url}/v1/traces",
                                  "headers": {"Authorization": f"Bearer {api_key}"}})

    assert ingest.post("/v1/traces", json={"traces": [make_trace(3, **TRACE)]}).status_code == 202

    # no project on the resource: Phoenix's default project
    [span] = wait_for(lambda: [s for s in spans(phoenix_server, "default")
                               if s["attributes"]["tracedrop.id"] == "gen-3"], what="the span in the default project")
    assert span["span_kind"] == "LLM" and span["attributes"]["llm.token_count.total"] == 52
