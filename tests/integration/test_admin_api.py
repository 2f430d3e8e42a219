"""The admin API around destinations: every bad field a 422 naming it, PATCH semantics, masks, tokens, audit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests import stack
from tests.conftest import forwarded_for
from worker.kinds.s3.config import S3Config

MASK = "********"


def destinations(workspace: str) -> str:
    return f"/v1/workspaces/{workspace}/destinations"


@pytest.mark.parametrize("change, field", [
    ({"prefix": "prod/"}, "prefix"),
    ({"prefix": "/prod"}, "prefix"),
    ({"prefix": "a/../b"}, "prefix"),
    ({"limit": 10001}, "limit"),
    ({"limit": 0}, "limit"),
    ({"every": 0}, "every"),
    ({"path_template": "{prefix}/{secret}"}, "path_template"),
    ({"path_template": "{{ config }}"}, "path_template"),
    ({"path_template": "{% if x %}{% endif %}"}, "path_template"),
    ({"path_template": "{prefix.__class__}"}, "path_template"),
    ({"path_template": "{date!r}"}, "path_template"),
    ({"path_template": "{prefix}/../{date}"}, "path_template"),
    ({"mode": "batch", "path_template": "{prefix}/{apiKeyName}"}, "path_template"),
    ({"sampling_rate": 0}, "sampling_rate"),
    ({"sampling_rate": -0.5}, "sampling_rate"),
    ({"sampling_rate": 1.5}, "sampling_rate"),
    ({"unknown": 1}, "unknown"),
    ({"id": "dst_mine"}, "id"),
    ({"mode": "stream"}, "mode"),
    ({"format": "csv"}, "format"),
    ({"path_template": "{prefix}/year={year}&month={month}"}, "path_template"),
    ({"type": "gcs"}, "type"),
    ({"region": None}, "region"),
    ({"region": "US East"}, "region"),
    ({"endpoint": "ftp://example.com"}, "endpoint"),
    ({"endpoint": "https://user:pass@example.com"}, "endpoint"),
    ({"endpoint": "https://example.com/?x=1"}, "endpoint"),
    ({"endpoint": "https://" + "a" * 64 + ".example.com"}, "endpoint"),
    ({"endpoint": "https://example.com:99999"}, "endpoint"),
    ({"endpoint": "https://example.com:0"}, "endpoint"),
    ({"path_template": "{prefix}./{date}", "prefix": ""}, "path_template"),
    ({"every": True}, "every"),
    ({"limit": "10"}, "limit"),
    ({"privacy_mode": "yes"}, "privacy_mode"),
    ({"sampling_rate": "0.5"}, "sampling_rate"),
    ({"bucket_name": "Bad_Bucket"}, "bucket_name"),
    ({"bucket_name": "some-bucket\n"}, "bucket_name"),
    ({"region": "us-east-1\n"}, "region"),
    ({"access_secret": ""}, "access_secret"),
    ({"api_key_names": [""]}, "api_key_names.0"),
])
def test_every_bad_field_is_a_422_naming_it(admin: stack.Admin, workspace: str, s3: stack.SeaweedFS,
                                            change: dict[str, Any], field: str) -> None:
    body = {**stack.s3_body(s3, "some-bucket"), **change}
    for path in (destinations(workspace), f"{destinations(workspace)}/test"):
        response = admin.http.post(path, json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert [p["field"] for p in error["problems"]] == [field], error
        assert error["message"].startswith(f"{field}: ")
    assert admin.http.get(destinations(workspace)).json() == {"destinations": []}


def test_region_is_required_with_a_custom_endpoint_and_optional_for_aws() -> None:
    body = {"name": "x", "bucket_name": "my-traces", "access_key_id": "a", "access_secret": "b"}
    assert S3Config.model_validate(body).region is None
    with pytest.raises(ValueError, match="region: is required with a custom endpoint"):
        S3Config.model_validate({**body, "endpoint": "https://storage.example.com"})


def test_a_body_that_is_not_an_object_is_a_422(admin: stack.Admin, workspace: str) -> None:
    for body in ([], "s3", 3, None):
        response = admin.http.post(destinations(workspace), json=body)
        assert response.status_code == 422, (body, response.text)
    assert admin.http.post(destinations(workspace), content=b"{not json",
                           headers={"content-type": "application/json"}).status_code == 422


def test_patch_retests_connection_fields_only_keeps_secrets_and_fails_cleanly(
    admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str
) -> None:
    # Given a saved destination whose bucket is then removed behind tracedrop's back
    created = admin.destination(workspace, stack.s3_body(s3, bucket, name="first", session_token=None))
    url = f"{destinations(workspace)}/{created['id']}"
    s3.client().delete_bucket(Bucket=bucket)

    # When a field that is not a connection field changes, no test runs: it is saved
    renamed = admin.http.patch(url, json={"name": "second", "privacy_mode": True, "sampling_rate": 0.5})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "second" and renamed.json()["access_secret"] == MASK

    # When a connection field changes, the test runs first, and a failure changes nothing at all
    for change, code in (({"prefix": "moved", "name": "third"}, "no_such_bucket"),
                         ({"access_secret": "wrong", "name": "third"}, "signature_mismatch"),
                         ({"access_key_id": "nobody"}, "invalid_access_key")):
        failed = admin.http.patch(url, json=change)
        assert failed.status_code == 400 and failed.json()["error"]["code"] == code, failed.text
        assert admin.http.get(url).json() == renamed.json()

    # A bad field in a PATCH is a 422 naming it, and changes nothing either
    invalid = admin.http.patch(url, json={"limit": 0, "name": "third"})
    assert invalid.status_code == 422 and invalid.json()["error"]["problems"][0]["field"] == "limit"
    assert admin.http.patch(url, json={"id": "dst_other"}).status_code == 422
    assert admin.http.get(url).json() == renamed.json()

    # When the bucket is back, a connection-field PATCH without the secret (or with the mask) passes on the
    # stored secret
    s3.client().create_bucket(Bucket=bucket)
    moved = admin.http.patch(url, json={"prefix": "moved"})
    assert moved.status_code == 200, moved.text
    masked = admin.http.patch(url, json={"bucket_name": bucket, "access_secret": MASK})
    assert masked.status_code == 200, masked.text
    assert masked.json() == {**renamed.json(), "prefix": "moved"}


def test_secrets_are_masked_in_every_answer(admin: stack.Admin, workspace: str, s3: stack.SeaweedFS,
                                            bucket: str) -> None:
    secret = s3.secret()
    created = admin.destination(workspace, stack.s3_body(s3, bucket))
    url = f"{destinations(workspace)}/{created['id']}"
    answers = [
        created,
        admin.http.get(url).json(),
        admin.http.get(destinations(workspace)).json()["destinations"][0],
        admin.http.patch(url, json={"name": "renamed"}).json(),
        admin.http.patch(url, json={"access_secret": secret}).json(),
    ]
    for answer in answers:
        assert answer["access_secret"] == MASK and answer["session_token"] is None
        assert secret not in str(answer)
    failed = admin.http.patch(url, json={"access_secret": "not-the-secret-" + secret[:4]})
    assert failed.status_code == 400 and "not-the-secret-" not in failed.text


def test_an_ingest_key_never_opens_the_admin_api_and_tokens_are_checked(
    proxied_api: stack.Api, admin: stack.Admin, workspace: str, s3: stack.SeaweedFS
) -> None:
    # (each request comes from a client of its own, through a trusted proxy, so that no client is locked out)
    key = admin.ingest_key(workspace)
    admin_routes = [("GET", f"/v1/workspaces/{workspace}"), ("PUT", f"/v1/workspaces/{workspace}"),
                    ("GET", f"/v1/workspaces/{workspace}/ingest-keys"), ("GET", destinations(workspace)),
                    ("POST", destinations(workspace)), ("POST", f"{destinations(workspace)}/test"),
                    ("GET", f"/v1/workspaces/{workspace}/audit")]
    body = {"broadcast_enabled": False}
    token = stack.ADMIN_TOKEN
    with httpx.Client(base_url=proxied_api.url, timeout=30) as http:
        for authorization in (f"Bearer {key}", f"Bearer {token}-", f"Bearer {token[:-1]}", "Bearer",
                              f"Basic {token}", token):
            for method, path in admin_routes:
                response = http.request(method, path, json=body,
                                        headers={"Authorization": authorization, **forwarded_for()})
                assert response.status_code == 401, (authorization, method, path, response.text)
                assert response.json()["error"]["code"] == "unauthorized"
        for method, path in admin_routes:
            assert http.request(method, path, json=body, headers=forwarded_for()).status_code == 401
        admin_as_ingest = http.post("/v1/traces", json={"id": "t", "timestamp": 1, "model": "m"},
                                    headers={"Authorization": f"Bearer {token}"})
        assert admin_as_ingest.status_code == 401
    assert admin.http.get(f"/v1/workspaces/{workspace}").json()["broadcast_enabled"] is True


def test_connection_tests_are_rate_limited_per_workspace(admin: stack.Admin, workspace: str) -> None:
    body = {"name": "x", "type": "s3", "bucket_name": "bucket", "region": "us-east-1",
            "endpoint": f"http://127.0.0.1:{stack.free_port()}", "access_key_id": "a", "access_secret": "b"}
    answers = [admin.http.post(f"{destinations(workspace)}/test", json=body) for _ in range(31)]
    assert [a.status_code for a in answers[:30]] == [400] * 30
    limited = answers[30]
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert admin.http.post(destinations(workspace), json=body).status_code == 429
    other = f"{workspace}-b"
    admin.workspace(other)
    assert admin.http.post(f"{destinations(other)}/test", json=body).status_code == 400


def test_the_audit_lists_every_configuration_change_without_secrets(admin: stack.Admin, workspace: str,
                                                                    s3: stack.SeaweedFS, bucket: str) -> None:
    secret = s3.secret()
    admin.workspace(workspace, broadcast_enabled=False)
    key = admin.ingest_key(workspace, name="gateway")
    key_id = admin.http.get(f"/v1/workspaces/{workspace}/ingest-keys").json()["ingest_keys"][0]["id"]
    created = admin.destination(workspace, stack.s3_body(s3, bucket, prefix="one"))
    url = f"{destinations(workspace)}/{created['id']}"
    assert admin.http.patch(url, json={"prefix": "two", "access_secret": secret}).status_code == 200
    assert admin.http.delete(f"/v1/workspaces/{workspace}/ingest-keys/{key_id}").status_code == 204
    assert admin.http.delete(url).status_code == 204

    response = admin.http.get(f"/v1/workspaces/{workspace}/audit")
    events = list(reversed(response.json()["events"]))
    assert [e["action"] for e in events] == ["workspace.created", "workspace.updated", "ingest_key.created",
                                             "destination.created", "destination.updated", "ingest_key.revoked",
                                             "destination.deleted"]
    assert all(e["at"].endswith("Z") for e in events)
    assert events[1]["detail"] == {"broadcast_enabled": False}
    assert events[4]["detail"]["changed"] == ["prefix"]
    assert events[4]["detail"]["prefix"] == "two" and events[4]["detail"]["access_secret"] == MASK
    assert secret not in response.text and key not in response.text
    assert "gAAAA" not in response.text, "no encrypted secret either"


def test_a_body_is_json_with_or_without_its_content_type(admin: stack.Admin, api_server: stack.Api) -> None:
    # As `curl -d` sends it (application/x-www-form-urlencoded), and with no Content-Type at all
    name = f"plain-{uuid.uuid4().hex[:8]}"
    for headers in ({"content-type": "application/x-www-form-urlencoded"}, {}):
        created = httpx.put(f"{api_server.url}/v1/workspaces/{name}-{len(headers)}",
                            content=b'{"broadcast_enabled": true}',
                            headers={"Authorization": f"Bearer {stack.ADMIN_TOKEN}", **headers})
        assert created.status_code == 201, created.text
        assert created.json()["broadcast_enabled"] is True
    created = httpx.put(f"{api_server.url}/v1/workspaces/{name}-0", content=b"broadcast_enabled=true",
                        headers={"Authorization": f"Bearer {stack.ADMIN_TOKEN}"})
    assert created.status_code == 422  # still never a form


def test_an_unknown_field_close_to_a_known_one_asks_which_was_meant(
        admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str) -> None:
    answer = admin.http.post(destinations(workspace), json={**stack.s3_body(s3, bucket), "body_format": "json",
                                                            "bucket": "x", "zzz": 1})
    assert answer.status_code == 422
    problems = {p["field"]: p["reason"] for p in answer.json()["error"]["problems"]}
    assert problems == {"body_format": "Extra inputs are not permitted: did you mean 'format'?",
                        "bucket": "Extra inputs are not permitted: did you mean 'bucket_name'?",
                        "zzz": "Extra inputs are not permitted"}


def test_an_http_endpoint_refused_names_the_setting_that_allows_it(public_admin: stack.Admin, workspace: str) -> None:
    answer = public_admin.http.post(destinations(workspace), json={
        "name": "hook", "type": "webhook", "url": "http://hooks.example.com/in", "format": "json"})
    assert answer.status_code == 400
    assert "TRACEDROP_ALLOW_PRIVATE_ENDPOINTS=true" in answer.json()["error"]["message"]
