"""Hypothesis against the gateway formats on the running API: however odd a span, payload or hook call, the answer
is a 2xx or a 4xx, never a 5xx; OTLP keeps to its receiver answers (200 with a decodable response, or 400)."""

from __future__ import annotations

import json
import string
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from api.formats import otlp
from tests import stack

pytestmark = [pytest.mark.usefixtures("running"), pytest.mark.faults]
EXAMPLES = 120
KNOWN = sorted({name for _, names, _ in otlp.FIELDS for name in names} | set(otlp.INPUT + otlp.OUTPUT)
               | {"gen_ai.request.model", "tracedrop.id", "tracedrop.trace_id", "trace.metadata.env", "span.level"})
SEEN: Counter[int] = Counter()

def _awkward_text(kind: str) -> dict[str, str]:
    """Attribute values that stress the reader: deep JSON, a huge string, a message list, broken JSON."""
    text = {"deep": "[" * 300 + "]" * 300, "huge": "x" * 200_000, "messages": '[{"role": "user"}]',
            "broken": "{bad json"}[kind]
    return {"stringValue": text}


numbers = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), numbers, st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=5), inner, max_size=3), max_leaves=10)
any_values = st.recursive(
    st.one_of(st.builds(lambda v: {"stringValue": v}, st.text(max_size=30)),
              st.builds(lambda v: {"intValue": v},
                        st.one_of(st.integers(), st.text(string.digits + "-x", max_size=25))),
              st.builds(lambda v: {"doubleValue": v}, st.one_of(numbers, st.text(max_size=5))),
              st.builds(lambda v: {"boolValue": v}, scalars),
              st.builds(lambda v: {"bytesValue": v}, st.text(max_size=8)),
              st.sampled_from(["deep", "huge", "messages", "broken"]).map(_awkward_text),
              json_values),
    lambda inner: st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3))
    | st.builds(lambda kvs: {"kvlistValue": {"values": [{"key": k, "value": v} for k, v in kvs]}},
                st.lists(st.tuples(st.text(max_size=5), inner), max_size=3)),
    max_leaves=6)
attributes = st.lists(st.builds(lambda k, v: {"key": k, "value": v}, st.sampled_from(KNOWN) | st.text(max_size=10),
                                any_values), max_size=8).map(
    lambda kvs: [{"key": "gen_ai.request.model", "value": {"stringValue": "m"}}, *kvs])
ids = st.one_of(st.just("5b8efff798038103d269b633813fc60c"), st.just("eee19b7ec3c1b174"), st.text(max_size=40),
                st.integers(), st.none())
nanos = st.one_of(st.integers(min_value=-5, max_value=2**70), st.text(string.digits, max_size=22), scalars)
spans = st.fixed_dictionaries({"traceId": ids, "spanId": ids, "startTimeUnixNano": nanos, "attributes": attributes},
                              optional={"endTimeUnixNano": nanos, "name": scalars,
                                        "status": st.fixed_dictionaries({"code": scalars | st.sampled_from(
                                            ["STATUS_CODE_ERROR", 2])}, optional={"message": scalars})})
otlp_bodies = st.one_of(
    st.lists(spans, max_size=4).map(lambda ss: {"resourceSpans": [{"scopeSpans": [{"spans": ss}]}]}),
    st.builds(lambda v: {"resourceSpans": v}, json_values),
    st.builds(lambda v: {"resourceSpans": [{"scopeSpans": v}]}, json_values),
)
litellm_payloads = st.fixed_dictionaries(
    {"id": scalars, "call_type": scalars, "startTime": scalars | st.floats(0, 2e9)},
    optional={"endTime": scalars, "completionStartTime": scalars, "model": scalars, "prompt_tokens": scalars,
              "metadata": json_values, "cost_breakdown": json_values, "response_cost": scalars,
              "messages": json_values, "response": json_values, "model_parameters": json_values,
              "status": st.sampled_from(["success", "failure"]), "error_information": json_values,
              "request_tags": json_values, "session_id": scalars, "trace_id": scalars, "end_user": scalars})
aperture_calls = st.fixed_dictionaries(
    {"metadata": st.fixed_dictionaries({"request_id": scalars}, optional={
        "model": scalars, "url": scalars, "login_name": scalars, "estimated_cost": json_values,
        "stable_node_id": scalars})}, optional={"request_body": json_values, "response_body": json_values})


@pytest.fixture(scope="module")
def client(api_server: stack.Api) -> Any:
    admin = stack.Admin(api_server.url)
    admin.workspace("fuzz-gateways")
    key = admin.ingest_key("fuzz-gateways")
    admin.http.close()
    with httpx.Client(base_url=api_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        yield http
    print(f"\ngateway fuzz: statuses {dict(sorted(SEEN.items()))}")


def check(response: httpx.Response, body: Any) -> None:
    SEEN[response.status_code] += 1
    assert response.status_code < 500, (body, response.text[:2000])


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=otlp_bodies)
def test_otlp_json_never_gets_a_5xx(client: httpx.Client, body: Any) -> None:
    response = client.post("/v1/traces", content=json.dumps(body),
                           headers={"content-type": "application/json"})
    check(response, body)
    assert response.status_code in (200, 400, 413), response.text
    if response.status_code == 200:
        assert isinstance(response.json(), dict)


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=200), otlp_bodies.map(lambda b: _as_protobuf(b))))
def test_otlp_protobuf_never_gets_a_5xx(client: httpx.Client, data: bytes) -> None:
    response = client.post("/v1/traces", content=data, headers={"content-type": "application/x-protobuf"})
    check(response, data)
    assert response.status_code in (200, 400, 413), response.text
    if response.status_code == 200:
        ExportTraceServiceResponse.FromString(response.content)


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(litellm_payloads, st.lists(litellm_payloads, max_size=3), aperture_calls))
def test_litellm_and_aperture_bodies_never_get_a_5xx(client: httpx.Client, body: Any) -> None:
    response = client.post("/v1/traces", content=json.dumps(body),
                           headers={"content-type": "application/json"})
    check(response, body)
    if response.status_code == 422:
        problems = response.json()["error"]["problems"]
        assert problems and all(p["format"] in ("litellm", "aperture", "native") and p["field"] for p in problems)


def _as_protobuf(body: Any) -> bytes:
    """A protobuf request with the same spans, as far as they fit protobuf's types (odd values are dropped)."""
    request = ExportTraceServiceRequest()
    resource_spans = body.get("resourceSpans") if isinstance(body, dict) else None
    if not isinstance(resource_spans, list):
        return b"\x0a\x02\xff\xff"
    scope = request.resource_spans.add().scope_spans.add()
    for rs in resource_spans:
        for ss in (rs.get("scopeSpans") if isinstance(rs, dict) and isinstance(rs.get("scopeSpans"), list) else []):
            for raw in (ss.get("spans") if isinstance(ss, dict) and isinstance(ss.get("spans"), list) else []):
                span = scope.spans.add(trace_id=str(raw.get("traceId")).encode()[:16],
                                       span_id=str(raw.get("spanId")).encode()[:8])
                for kv in raw.get("attributes", []):
                    value = kv["value"].get("stringValue") if isinstance(kv.get("value"), dict) else None
                    if isinstance(value, str) and isinstance(kv.get("key"), str):
                        span.attributes.add(key=kv["key"]).value.string_value = value
    return request.SerializeToString()
