"""The langsmith, grafana, newrelic and sentry kinds through the whole stack, each against a receiver on loopback that
holds it to its vendor's documented contract (none of them runs here). Where each expectation comes from:

- LANGSMITH_OTEL: https://docs.langchain.com/langsmith/trace-with-opentelemetry (the endpoint
  ``{LangSmith API}/otel/v1/traces``, headers ``x-api-key`` and ``Langsmith-Project``; "Supported OpenTelemetry
  attribute and event mapping": ``langsmith.span.kind`` is the run type, ``gen_ai.request.model``,
  ``gen_ai.request.temperature``, ``gen_ai.usage.input_tokens``/``output_tokens``/``total_tokens``,
  ``gen_ai.input.messages``/``gen_ai.output.messages`` become the run's model, parameters, usage, inputs, outputs).
- LANGSMITH_THREADS: https://docs.langchain.com/langsmith/threads (a run's ``session_id`` metadata key groups a
  conversation's traces into a thread).
- LANGSMITH_SDK: LangSmith's SDK, ``Client.read_project`` (github.com/langchain-ai/langsmith-sdk,
  python/langsmith/client.py): a project is read with ``GET {api}/sessions?name=<project>&limit=1`` and the
  ``x-api-key`` header, answered with a list of projects; https://docs.langchain.com/langsmith/log-traces-to-project:
  "If the project specified does not exist, LangSmith will automatically create it when the first trace is ingested".
- GRAFANA_OTLP: https://grafana.com/docs/grafana-cloud/send-data/traces/set-up/verify-ingestion/ (the OTLP gateway
  takes traces at ``https://otlp-gateway-<REGION>.grafana.net/otlp/v1/traces``, Basic auth with the instance ID as
  user and a token with ``traces:write`` as password).
- NEWRELIC_OTLP: https://docs.newrelic.com/docs/opentelemetry/best-practices/opentelemetry-otlp/ (the license key in
  the ``api-key`` header; OTLP/HTTP binary protobuf recommended; traces at ``/v1/traces`` of the endpoint).
- SENTRY_OTLP: https://docs.sentry.io/concepts/otlp/direct/traces/ (the project's OTLP traces URL, with
  ``x-sentry-auth: sentry sentry_key=<public key>``); the DSN's parts: https://develop.sentry.dev/sdk/overview/.
- OPENROUTER: https://openrouter.ai/docs/guides/features/broadcast/ (``grafana``, ``newrelic``, ``sentry``: GenAI
  conventions for model and tokens, ``user.id``, ``session.id``, custom metadata as ``trace.metadata.*``).
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.receiver import Answer, Receiver, Request, exported, start_receiver

pytestmark = pytest.mark.usefixtures("running")

TRACE = {
    "model": "openai/gpt-4o", "user": "user-42", "session_id": "sess-9", "provider": "OpenAI",
    "trace": {"generation_name": "answer", "env": "prod"},
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52},
    "request": {"messages": [{"role": "user", "content": "the secret question"}], "temperature": 0.2},
    "response": {"choices": [{"message": {"role": "assistant", "content": "the private answer"}}]},
}
REFUSAL = b'{"error":"invalid credentials"}'
"""What each receiver answers without the right credentials: JSON, gzip-compressed (as gateways often answer)."""
PROJECT = "tracedrop-tests"
DSN_KEY = "0123456789abcdef0123456789abcdef"


@dataclass
class Vendor:
    kind: str
    secret: str
    """The name of the form's secret field."""
    fields: Callable[[Receiver], dict[str, Any]]
    traces_path: str
    authorized: Callable[[Request], bool]
    """Whether a request carries the credentials, as the vendor documents it."""
    tested: dict[str, Any] = field(default_factory=dict)
    """What the connection test answers beyond ok and status."""
    reads: dict[str, Any] = field(default_factory=dict)
    """Span attributes the vendor documents reading, with the value the trace gives them."""
    api: Callable[[Request], Answer | None] = lambda _request: None
    """The vendor's answers to requests other than the OTLP export, when it has any."""

    def form(self, receiver: Receiver, **changes: Any) -> dict[str, Any]:
        return {"name": self.kind, "type": self.kind, **self.fields(receiver), **changes}

    def behave(self, request: Request) -> Answer:
        if not self.authorized(request):
            return 401, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, gzip.compress(REFUSAL)
        answer = self.api(request)
        if answer is not None:
            return answer
        if request.method == "POST" and request.path == self.traces_path:
            return 200, {"Content-Type": "application/x-protobuf"}, b""
        return 404, {}, b"Not Found"


def langsmith_api(request: Request) -> Answer | None:
    """LANGSMITH_SDK: the projects read by name, gzip-compressed when the client accepts it (as APIs behind a CDN
    answer)."""
    if request.method == "GET" and request.path.startswith("/sessions?"):
        projects = orjson.dumps([{"id": "b4f7", "name": PROJECT, "tenant_id": "t-1"}])
        if "gzip" in request.headers.get("accept-encoding", ""):
            return 200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, gzip.compress(projects)
        return 200, {"Content-Type": "application/json"}, projects
    return None


GENAI = {"gen_ai.request.model": "openai/gpt-4o", "gen_ai.usage.input_tokens": "12",
         "gen_ai.usage.output_tokens": "40", "user.id": "user-42", "session.id": "sess-9",
         "trace.metadata.env": "prod"}  # OPENROUTER (ints arrive as JSON strings of the protobuf's int64)
BASIC = "Basic " + base64.b64encode(b"123456:glc_grafana-token").decode()  # GRAFANA_OTLP
VENDORS = {
    "langsmith": Vendor(
        "langsmith", "api_key", lambda r: {"api_key": "lsv2_pt_key", "project": PROJECT, "endpoint": r.origin},
        "/otel/v1/traces",  # LANGSMITH_OTEL
        lambda r: r.headers.get("x-api-key") == "lsv2_pt_key",  # LANGSMITH_OTEL, LANGSMITH_SDK
        tested={"project": PROJECT, "project_exists": True},
        reads={"langsmith.span.kind": "llm", "gen_ai.request.model": "openai/gpt-4o",  # LANGSMITH_OTEL
               "gen_ai.system": "OpenAI",  # LANGSMITH_OTEL: metadata.ls_provider
               "gen_ai.request.temperature": 0.2, "gen_ai.usage.input_tokens": "12",
               "gen_ai.usage.output_tokens": "40", "gen_ai.usage.total_tokens": "52",
               # LANGSMITH_OTEL: langsmith.metadata.{key} is run metadata; LANGSMITH_THREADS: session_id threads
               "langsmith.metadata.user_id": "user-42", "langsmith.metadata.session_id": "sess-9"},
        api=langsmith_api),
    "grafana": Vendor(
        "grafana", "api_key", lambda r: {"base_url": r.origin, "instance_id": "123456", "api_key": "glc_grafana-token"},
        "/otlp/v1/traces", lambda r: r.headers.get("authorization") == BASIC, reads=GENAI),  # GRAFANA_OTLP
    "newrelic": Vendor(
        "newrelic", "license_key", lambda r: {"license_key": "eu01xx0123456789NRAL", "region": "eu",
                                              "endpoint": r.origin},
        "/v1/traces", lambda r: r.headers.get("api-key") == "eu01xx0123456789NRAL", reads=GENAI),  # NEWRELIC_OTLP
    "sentry": Vendor(
        "sentry", "dsn", lambda r: {"otlp_endpoint": f"{r.origin}/api/456/integration/otlp/v1/traces",
                                    "dsn": f"https://{DSN_KEY}@o123.ingest.us.sentry.io/456"},
        "/api/456/integration/otlp/v1/traces",  # SENTRY_OTLP
        lambda r: r.headers.get("x-sentry-auth") == f"sentry sentry_key={DSN_KEY}", reads=GENAI),  # SENTRY_OTLP
}
WRONG = {"langsmith": {"api_key": "lsv2_pt_wrong"}, "grafana": {"instance_id": "654321"},
         "newrelic": {"license_key": "wrong-key"}, "sentry": {"dsn": "https://fedcba98@o123.ingest.us.sentry.io/456"}}


@pytest.fixture(params=sorted(VENDORS))
def vendor(request: pytest.FixtureRequest) -> Iterator[tuple[Vendor, Receiver]]:
    spec = VENDORS[request.param]
    receiver = start_receiver()
    receiver.behave = spec.behave
    yield spec, receiver
    receiver.stop()


def test_a_trace_reaches_the_vendor_as_it_documents(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, vendor: tuple[Vendor, Receiver]
) -> None:
    spec, receiver = vendor
    # Given a destination whose connection test passed with the vendor's credentials, its secret masked
    tested = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test", json=spec.form(receiver))
    assert tested.json() == {"ok": True, "status": 200, **spec.tested}, tested.text
    empty = receiver.requests[-1]
    assert (empty.method, empty.path, empty.body) == ("POST", spec.traces_path, b"") and spec.authorized(empty)
    created = admin.destination(workspace, spec.form(receiver))
    secret = spec.fields(receiver)[spec.secret]
    assert created[spec.secret] == "********"
    assert secret not in orjson.dumps(admin.http.get(f"/v1/workspaces/{workspace}/destinations").json()).decode()

    # When a trace is accepted
    assert ingest.post("/v1/traces", json={"traces": [make_trace(0, **TRACE)]}).status_code == 202

    # Then the vendor gets it at its traces path, authenticated, as OTLP protobuf, in the attributes it reads
    [(request, _, span)] = wait_for(lambda: exported(receiver), what=f"the trace exported to {spec.kind}")
    assert request.path == spec.traces_path and spec.authorized(request)
    assert request.headers["content-type"] == "application/x-protobuf"  # NEWRELIC_OTLP: binary protobuf
    assert {name: span.get(name) for name in spec.reads} == spec.reads
    assert span["tracedrop.id"] == "gen-0"
    wait_for(lambda: admin.status(workspace, created["id"])["delivered"] == 1, what="status delivered 1")


def test_langsmith_reads_the_project_by_name_and_gets_the_project_header(
    admin: stack.Admin, workspace: str, ingest: httpx.Client
) -> None:
    spec, receiver = VENDORS["langsmith"], start_receiver()
    receiver.behave = spec.behave
    try:
        admin.destination(workspace, spec.form(receiver))
        assert ingest.post("/v1/traces", json={"traces": [make_trace(1, **TRACE)]}).status_code == 202

        [(request, _, span)] = wait_for(lambda: exported(receiver), what="the trace exported to LangSmith")
        read = receiver.requests[0]  # LANGSMITH_SDK
        assert (read.method, read.path) == ("GET", f"/sessions?name={PROJECT}&limit=1")
        assert read.headers["x-api-key"] == "lsv2_pt_key"
        assert request.headers["langsmith-project"] == PROJECT  # LANGSMITH_OTEL
        assert orjson.loads(span["gen_ai.input.messages"])[0]["content"] == "the secret question"  # LANGSMITH_OTEL
        assert "the private answer" in span["gen_ai.output.messages"]
    finally:
        receiver.stop()


def test_a_wrong_credential_fails_the_test_as_unauthorized_showing_the_answer_decoded(
    admin: stack.Admin, workspace: str, vendor: tuple[Vendor, Receiver]
) -> None:
    spec, receiver = vendor

    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations",
                               json=spec.form(receiver, **WRONG[spec.kind]))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "unauthorized", error
    # the receiver's gzip answer, inflated and shown as the JSON it is
    assert '{"error":"invalid credentials"}' in error["message"] and "check the" in error["message"]
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}


@pytest.mark.parametrize(("kind", "changes", "named"), [
    ("sentry", {"dsn": "https://o123.ingest.us.sentry.io/456"}, "dsn"),
    ("sentry", {"dsn": f"https://{DSN_KEY}@o123.ingest.us.sentry.io/not-a-project"}, "dsn"),
    ("grafana", {"instance_id": "stack-1"}, "instance_id"),
    ("newrelic", {"region": "antarctica"}, "region"),
    ("langsmith", {"api_key": "lsv2 pt"}, "api_key"),
])
def test_a_malformed_field_is_refused_naming_it_and_never_echoed(
    admin: stack.Admin, workspace: str, kind: str, changes: dict[str, Any], named: str
) -> None:
    receiver = start_receiver()
    try:
        response = admin.http.post(f"/v1/workspaces/{workspace}/destinations",
                                   json=VENDORS[kind].form(receiver, **changes))
    finally:
        receiver.stop()

    assert response.status_code == 422, response.text
    assert named in response.text and str(next(iter(changes.values()))) not in response.text
    assert receiver.requests == []
