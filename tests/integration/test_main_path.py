"""The main path, end to end: traces posted to the API become objects in a real SeaweedFS bucket."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for, wait_for_keys

pytestmark = pytest.mark.usefixtures("running")

FULL_TRACE: dict[str, Any] = {
    "id": "gen-1705312800-abc123",
    "timestamp": "2024-01-15T10:00:00Z",
    "model": "openai/gpt-4o",
    "api_key_name": "prod backend",
    "user": "user-42",
    "session_id": "sess-9",
    "trace": {"trace_name": "support-bot", "generation_name": "answer", "env": "prod", "tags": ["beta"]},
    "provider": "OpenAI",
    "api_type": "oai_completions",
    "path": "/v1/chat/completions",
    "status_code": 200,
    "finish_reason": "stop",
    "duration_ms": 1834,
    "time_to_first_token_ms": 312,
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52,
              "cached_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0},
    "cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
    "request": {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2,
                "stream": False},
    "response": {"id": "gen-x", "choices": [{"message": {"role": "assistant", "content": "hello"},
                                              "finish_reason": "stop"}]},
    "identity": {"login_name": "alice@example.com", "node_id": "nXYZ", "tags": ["tag:prod"]},
    "headers": {"request": {"content-type": "application/json", "Authorization": "Bearer sk-secret",
                            "x-api-key": "sk-other", "Cookie": "session=1"}, "response": {}},
}

EXPECTED_DOCUMENT: dict[str, Any] = {
    "id": "gen-1705312800-abc123",
    "name": "support-bot",
    "timestamp": "2024-01-15T10:00:00.000Z",
    "userId": "user-42",
    "sessionId": "sess-9",
    "apiKeyName": "prod backend",
    "metadata": {"env": "prod"},
    "tags": ["beta"],
    "input": [{"role": "user", "content": "hi"}],
    "output": {"role": "assistant", "content": "hello"},
    "observations": [{
        "id": "gen-1705312800-abc123",
        "traceId": "gen-1705312800-abc123",
        "parentObservationId": None,
        "type": "GENERATION",
        "name": "answer",
        "startTime": "2024-01-15T10:00:00.000Z",
        "endTime": "2024-01-15T10:00:01.834Z",
        "completionStartTime": "2024-01-15T10:00:00.312Z",
        "model": "openai/gpt-4o",
        "modelParameters": {"temperature": 0.2},
        "providerName": "OpenAI",
        "input": [{"role": "user", "content": "hi"}],
        "output": {"role": "assistant", "content": "hello"},
        "promptTokens": 12, "completionTokens": 40, "totalTokens": 52,
        "promptTokensDetails": {"cachedTokens": 0, "cacheWriteTokens": 0},
        "completionTokensDetails": {"reasoningTokens": 0},
        "inputCost": 0.00003, "outputCost": 0.0004, "totalCost": 0.00043,
        "level": "DEFAULT", "statusCode": 200, "statusMessage": None, "finishReason": "stop",
        "metadata": {"env": "prod"},
    }],
}


def post(client: httpx.Client, body: Any) -> httpx.Response:
    return client.post("/v1/traces", json=body)


def test_a_full_trace_becomes_the_openrouter_document_at_its_key(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    # Given a per-trace destination with a prefix
    admin.destination(workspace, stack.s3_body(s3, bucket, prefix="prod"))

    # When the gateway posts one trace
    response = post(ingest, FULL_TRACE)

    # Then it is accepted and lands under <prefix>/<date>/<id>-<unix seconds>.json with every field
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1, "owed": 1, "discarded": {}}
    keys = wait_for_keys(s3, bucket, 1, prefix="prod/")
    assert keys == ["prod/2024-01-15/gen-1705312800-abc123-1705312800.json"]
    body = s3.client().get_object(Bucket=bucket, Key=keys[0])["Body"].read()
    assert orjson.loads(body) == EXPECTED_DOCUMENT
    assert b"sk-secret" not in body and b"session=1" not in body


def test_privacy_mode_drops_content_and_keeps_the_rest(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket, privacy_mode=True))

    assert post(ingest, FULL_TRACE).status_code == 202

    [key] = wait_for_keys(s3, bucket, 1)
    assert key == "2024-01-15/gen-1705312800-abc123-1705312800.json"
    document = orjson.loads(s3.client().get_object(Bucket=bucket, Key=key)["Body"].read())
    expected = {k: v for k, v in EXPECTED_DOCUMENT.items() if k not in ("input", "output")}
    expected["observations"] = [{k: v for k, v in EXPECTED_DOCUMENT["observations"][0].items()
                                 if k not in ("input", "output")}]
    assert document == expected


def test_a_minimal_trace_omits_what_it_did_not_carry(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket, prefix="prod",
                                               path_template="{prefix}/{date}/{apiKeyName}"))

    assert post(ingest, {"traces": [make_trace(7, timestamp=1705312800.5)]}).status_code == 202

    [key] = wait_for_keys(s3, bucket, 1)
    assert key == "prod/2024-01-15/gen-7-1705312800.json"
    document = orjson.loads(s3.client().get_object(Bucket=bucket, Key=key)["Body"].read())
    assert document == {
        "id": "gen-7", "name": "generation", "timestamp": "2024-01-15T10:00:00.500Z", "metadata": {}, "tags": [],
        "observations": [{
            "id": "gen-7", "traceId": "gen-7", "parentObservationId": None, "type": "GENERATION",
            "name": "openai/gpt-4o", "startTime": "2024-01-15T10:00:00.500Z", "model": "openai/gpt-4o",
            "modelParameters": {}, "level": "DEFAULT", "statusMessage": None, "metadata": {},
        }],
    }


def test_hostile_api_key_names_stay_inside_one_segment(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    admin.destination(workspace, stack.s3_body(s3, bucket, prefix="logs", path_template="{prefix}/{apiKeyName}/{hour}"))
    names = ["a/../../b", "#?+& x", "..", "ключ", "nul\x00byte"]
    traces = [make_trace(i, api_key_name=name, timestamp="2024-01-15T12:30:00+02:00") for i, name in enumerate(names)]

    assert post(ingest, {"traces": traces}).status_code == 202

    keys = sorted(wait_for_keys(s3, bucket, len(names)))
    assert keys == sorted([
        "logs/a_.._.._b/10/gen-0-1705314600.json",
        "logs/_____x/10/gen-1-1705314600.json",
        "logs/_/10/gen-2-1705314600.json",
        "logs/____/10/gen-3-1705314600.json",
        "logs/nul_byte/10/gen-4-1705314600.json",
    ])


def test_broadcast_disabled_accepts_and_discards(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket))
    admin.workspace(workspace, broadcast_enabled=False)

    response = post(ingest, {"traces": [make_trace(i) for i in range(3)]})

    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "owed": 0, "discarded": {"broadcast_off": 3}}
    admin.workspace(workspace, broadcast_enabled=True)
    assert post(ingest, make_trace(99)).status_code == 202
    assert wait_for_keys(s3, bucket, 1) == ["2024-01-15/gen-99-1705312800.json"]
    assert admin.status(workspace, destination["id"])["delivered"] == 1


def test_a_disabled_destination_gets_nothing_the_enabled_one_gets_everything(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    off_bucket = f"{bucket}-off"
    s3.client().create_bucket(Bucket=off_bucket)
    admin.destination(workspace, stack.s3_body(s3, bucket))
    admin.destination(workspace, stack.s3_body(s3, off_bucket, enabled=False))

    assert post(ingest, {"traces": [make_trace(i) for i in range(10)]}).status_code == 202

    assert len(wait_for_keys(s3, bucket, 10)) == 10
    assert s3.keys(off_bucket) == []


def test_the_same_trace_sent_three_times_is_one_object(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket))

    for _ in range(3):
        assert post(ingest, FULL_TRACE).status_code == 202

    wait_for(lambda: admin.status(workspace, destination["id"])["delivered"] == 3, what="3 deliveries")
    assert s3.keys(bucket) == ["2024-01-15/gen-1705312800-abc123-1705312800.json"]


def test_single_trace_requests_in_flight_together_each_land(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    # Given a per-trace destination, and a gateway posting one trace a request, 64 at once (api/group_commit.py)
    admin.destination(workspace, stack.s3_body(s3, bucket))

    async def post_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=str(ingest.base_url), headers=dict(ingest.headers), timeout=30,
                                     limits=httpx.Limits(max_connections=64)) as client:
            return await asyncio.gather(*(client.post("/v1/traces", json=make_trace(i, id=f"gen-together-{i}"))
                                          for i in range(64)))

    answers = asyncio.run(post_all())

    # Then each is accepted on its own, and each trace is its own object
    assert [(a.status_code, a.json()) for a in answers] == [(202, {"accepted": 1, "owed": 1, "discarded": {}})] * 64
    assert sorted(wait_for_keys(s3, bucket, 64)) == sorted(
        f"2024-01-15/gen-together-{i}-1705312800.json" for i in range(64))


def test_invalid_traces_are_refused_all_or_nothing(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket))
    traces = [
        make_trace(0),
        {"id": "bad id!", "timestamp": "2024-01-15T10:00:00", "model": "m"},
        make_trace(2, usage={"prompt_tokens": -1}, status_code=700),
        "not an object",
    ]

    response = post(ingest, {"traces": traces})

    assert response.status_code == 422
    problems = {(p["index"], p["field"]) for p in response.json()["error"]["problems"]}
    assert problems == {(1, "id"), (1, "timestamp"), (2, "usage.prompt_tokens"), (2, "status_code"), (3, "trace")}
    assert all(p["reason"] for p in response.json()["error"]["problems"])
    assert admin.status(workspace, destination["id"])["backlog"]["size"] == 0
    assert s3.keys(bucket) == []


@pytest.mark.parametrize("body, field", [
    ({"id": "x", "model": "m"}, "timestamp"),
    ({"id": "x", "timestamp": "2024-01-15T10:00:00Z"}, "model"),
    ({"timestamp": "2024-01-15T10:00:00Z", "model": "m"}, "id"),
    ({"id": "x", "timestamp": "yesterday", "model": "m"}, "timestamp"),
    ({"id": "x", "timestamp": True, "model": "m"}, "timestamp"),
    ({"id": "x" * 129, "timestamp": 1, "model": "m"}, "id"),
    ({"id": "x", "timestamp": 1, "model": "m", "duration_ms": 1.5}, "duration_ms"),
    ({"id": "x", "timestamp": 1, "model": "m", "cost": {"total": -1}}, "cost.total"),
    ({"id": "x", "timestamp": 1, "model": "m", "trace": []}, "trace"),
    ({"id": "x", "timestamp": 1, "model": "m", "user": "u" * 1025}, "user"),
])
def test_each_bad_field_is_named(ingest: httpx.Client, body: dict[str, Any], field: str) -> None:
    response = post(ingest, body)
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["error"]["problems"]] == [field]


def test_ingest_keys_authenticate_and_revoke(api_server: stack.Api, admin: stack.Admin, workspace: str) -> None:
    assert httpx.post(f"{api_server.url}/v1/traces", json=make_trace()).status_code == 401
    wrong = {"Authorization": "Bearer td_nope"}
    assert httpx.post(f"{api_server.url}/v1/traces", json=make_trace(), headers=wrong).status_code == 401

    created = admin.http.post(f"/v1/workspaces/{workspace}/ingest-keys", json={"name": "gw"})
    assert created.status_code == 201
    key, key_id = created.json()["key"], created.json()["id"]
    listed = admin.http.get(f"/v1/workspaces/{workspace}/ingest-keys").json()["ingest_keys"]
    assert [k["id"] for k in listed] == [key_id] and "key" not in listed[0]
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.post(f"{api_server.url}/v1/traces", json=make_trace(), headers=headers).status_code == 202

    assert admin.http.delete(f"/v1/workspaces/{workspace}/ingest-keys/{key_id}").status_code == 204
    assert httpx.post(f"{api_server.url}/v1/traces", json=make_trace(), headers=headers).status_code == 401
    # an ingest key never opens the admin API
    assert httpx.get(f"{api_server.url}/v1/workspaces/{workspace}", headers=headers).status_code == 401
