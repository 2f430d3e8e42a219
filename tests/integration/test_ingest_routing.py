"""Each api process keeps what it routes by between requests (api/ingest_cache.py); a change made through the admin
API still applies to the very next trace, and a revoked key stores nothing from the moment it is revoked."""

from __future__ import annotations

import httpx

from tests import stack
from tests.conftest import make_trace

TRACE = 0


def post(ingest: httpx.Client) -> httpx.Response:
    global TRACE
    TRACE += 1
    return ingest.post("/v1/traces", json=make_trace(TRACE, api_key_name="gateway"))


def accepted(admin: stack.Admin, workspace: str, destination: str) -> int:
    return int(admin.status(workspace, destination)["accepted"])


def test_a_change_of_destinations_or_broadcast_applies_to_the_next_trace(
        admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str) -> None:
    held = {"mode": "batch", "every": 86400}  # owed, not delivered: the counts stay to be read
    first = admin.destination(workspace, stack.s3_body(s3, bucket, **held))["id"]
    assert post(ingest).status_code == 202
    assert accepted(admin, workspace, first) == 1

    second = admin.destination(workspace, stack.s3_body(s3, bucket, name="second", prefix="second", **held))["id"]
    assert post(ingest).status_code == 202
    assert (accepted(admin, workspace, first), accepted(admin, workspace, second)) == (2, 1)

    assert admin.http.delete(f"/v1/workspaces/{workspace}/destinations/{first}").status_code == 204
    assert post(ingest).status_code == 202
    assert accepted(admin, workspace, second) == 2

    admin.workspace(workspace, broadcast_enabled=False)
    assert post(ingest).status_code == 202
    assert accepted(admin, workspace, second) == 2
    admin.workspace(workspace, broadcast_enabled=True)
    assert post(ingest).status_code == 202
    assert accepted(admin, workspace, second) == 3

    patched = admin.http.patch(f"/v1/workspaces/{workspace}/destinations/{second}",
                               json={"exclude_api_key_names": ["gateway"]})
    assert patched.status_code == 200, patched.text
    assert post(ingest).status_code == 202
    assert accepted(admin, workspace, second) == 3


def test_a_revoked_key_stores_nothing_from_the_next_request(
        admin: stack.Admin, api_server: stack.Api, workspace: str, s3: stack.SeaweedFS, bucket: str) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket, mode="batch", every=86400))["id"]
    created = admin.http.post(f"/v1/workspaces/{workspace}/ingest-keys", json={"name": "soon-revoked"}).json()
    with httpx.Client(base_url=api_server.url, headers={"Authorization": f"Bearer {created['key']}"}) as ingest:
        assert post(ingest).status_code == 202
        revoked = admin.http.delete(f"/v1/workspaces/{workspace}/ingest-keys/{created['id']}")
        assert revoked.status_code == 204
        refused = post(ingest)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert accepted(admin, workspace, destination) == 1
