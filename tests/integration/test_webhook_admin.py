"""The admin API around webhook destinations: bad configuration is a 422 naming the field, the connection test's
typed failures, masks and PATCH semantics, and the egress fence shared with S3."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import stack
from tests.conftest import LOOPBACK_SPELLINGS, make_trace, wait_for
from tests.rebinding import Rebinding
from tests.receiver import Answer, Receiver, Request, start_receiver

pytestmark = pytest.mark.usefixtures("running")

MASK = "********"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = start_receiver()
    yield server
    server.stop()


def destinations(workspace: str) -> str:
    return f"/v1/workspaces/{workspace}/destinations"


def hook(url: str, **fields: Any) -> dict[str, Any]:
    return {"name": "hook", "type": "webhook", "url": url, **fields}


def answering(status: int, body: bytes = b"", **headers: str) -> Any:
    def behave(_: Request) -> Answer:
        return status, headers, body
    return behave


@pytest.mark.parametrize(("change", "field"), [
    ({"url": "ftp://hooks.example.com/x"}, "url"),
    ({"url": "https://user:pw@hooks.example.com/x"}, "url"),
    ({"url": "https://hooks.example.com/x#part"}, "url"),
    ({"url": "https://bad_host!/x"}, "url"),
    ({"url": None}, "url"),
    ({"method": "GET"}, "method"),
    ({"headers": {"Bad Name": "v"}}, "headers"),
    ({"headers": {"X-A": "one\r\nX-B: two"}}, "headers"),
    ({"headers": {"X-A": "one\ntwo"}}, "headers"),
    ({"headers": {"Host": "evil.example"}}, "headers"),
    ({"headers": {"content-length": "1"}}, "headers"),
    ({"headers": {"Transfer-Encoding": "chunked"}}, "headers"),
    ({"headers": {"webhook-signature": "v1,x"}}, "headers"),
    ({"headers": ["X-A"]}, "headers"),
    ({"signing_secret": "not-a-secret"}, "signing_secret"),
    ({"signing_secret": "whsec_" + base64.b64encode(b"short").decode()}, "signing_secret"),
    ({"signing_secret": "whsec_" + base64.b64encode(b"x" * 65).decode()}, "signing_secret"),
    ({"signing_secret": "whsec_!!!!"}, "signing_secret"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 1001}, "batch_size"),
    ({"batch_size": "5"}, "batch_size"),
    ({"format": "xml"}, "format"),
    ({"type": "ftp"}, "type"),
    ({"bucket_name": "b"}, "bucket_name"),
])
def test_every_bad_field_is_a_422_naming_it(admin: stack.Admin, workspace: str, change: dict[str, Any],
                                            field: str) -> None:
    body = {**hook("https://hooks.example.com/llm"), **change}
    for path in (destinations(workspace), f"{destinations(workspace)}/test"):
        response = admin.http.post(path, json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_destination"
        assert [p["field"] for p in error["problems"]] == [field], error
        assert error["problems"][0]["reason"]
    assert admin.http.get(destinations(workspace)).json() == {"destinations": []}


@pytest.mark.parametrize(("status", "code"), [
    (401, "unauthorized"), (403, "unauthorized"), (404, "not_found"), (405, "not_found"), (410, "not_found"),
    (302, "redirect_refused"), (500, "receiver_error"), (503, "receiver_error"), (415, "receiver_refused"),
])
def test_a_failed_connection_test_names_what_the_receiver_said(
    admin: stack.Admin, workspace: str, receiver: Receiver, status: int, code: str
) -> None:
    receiver.behave = answering(status, b"receiver says: nope", Location="https://elsewhere.example/")
    response = admin.http.post(destinations(workspace), json=hook(receiver.url))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and f"HTTP {status}" in error["message"]
    assert "receiver says: nope" in error["message"]
    assert admin.http.get(destinations(workspace)).json() == {"destinations": []}
    [test] = receiver.requests
    assert test.headers["x-test-connection"] == "true"
    if status == 302:
        assert "https://elsewhere.example/" in error["message"]  # named, never followed


@pytest.mark.parametrize("status", [200, 202, 204, 400])
def test_a_2xx_or_a_400_passes_the_test_and_the_payload_is_the_formats_empty_one(
    admin: stack.Admin, workspace: str, receiver: Receiver, status: int
) -> None:
    receiver.behave = answering(status)
    for fmt, empty in (("json", b"[]"), ("otlp_json", b'{"resourceSpans":[]}'), ("otlp_proto", b"")):
        response = admin.http.post(f"{destinations(workspace)}/test",
                                   json=hook(receiver.url, format=fmt, method="PUT", signing_secret=SECRET))
        assert response.status_code == 200 and response.json() == {"ok": True, "status": status}, response.text
        request = receiver.requests[-1]
        assert request.method == "PUT" and request.body == empty and request.headers["webhook-signature"]


def test_unreachable_hanging_and_non_tls_receivers_have_their_own_codes(
    admin: stack.Admin, workspace: str, receiver: Receiver
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    unreachable = admin.http.post(f"{destinations(workspace)}/test", json=hook(f"http://127.0.0.1:{port}/x"))
    assert unreachable.status_code == 400 and unreachable.json()["error"]["code"] == "endpoint_unreachable"

    plain = receiver.url.replace("http://", "https://")
    tls = admin.http.post(f"{destinations(workspace)}/test", json=hook(plain))
    assert tls.status_code == 400 and tls.json()["error"]["code"] == "tls_error", tls.text

    release = threading.Event()

    def hang(_: Request) -> Answer:
        release.wait(20)
        return 200, {}, b""

    receiver.behave = hang
    try:
        hanging = admin.http.post(f"{destinations(workspace)}/test", json=hook(receiver.url))
    finally:
        release.set()
    assert hanging.status_code == 400 and hanging.json()["error"]["code"] == "timeout"


@pytest.mark.parametrize("url", [u + "/hook" for u in LOOPBACK_SPELLINGS] +
                         ["https://169.254.169.254/latest", "https://[fd00::1]/x", "https://10.0.0.1/x",
                          "https://metadata.google.internal/x", "http://hooks.example.com/x"])
def test_private_and_metadata_addresses_are_forbidden_without_private_endpoints(
    public_admin: stack.Admin, workspace: str, url: str
) -> None:
    response = public_admin.http.post(destinations(workspace), json=hook(url))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "endpoint_forbidden"


def test_answers_mask_secrets_and_a_patch_keeps_what_it_leaves_out(
    admin: stack.Admin, workspace: str, receiver: Receiver
) -> None:
    created = admin.destination(workspace, hook(receiver.url, signing_secret=SECRET,
                                                headers={"Authorization": "Bearer one", "X-Team": "search"}))
    route = f"{destinations(workspace)}/{created['id']}"
    assert created["headers"] == {"Authorization": MASK, "X-Team": MASK} and created["signing_secret"] == MASK
    listed = admin.http.get(destinations(workspace)).text
    assert "Bearer one" not in listed and SECRET not in listed and "search" not in listed

    # A PATCH of a field that is not a connection field runs no test and keeps every secret
    tests_before = len(receiver.requests)
    renamed = admin.http.patch(route, json={"name": "renamed", "batch_size": 20})
    assert renamed.status_code == 200 and renamed.json()["batch_size"] == 20
    assert len(receiver.requests) == tests_before
    # Masks sent back unchanged are no change either
    same = admin.http.patch(route, json={"headers": {"Authorization": MASK, "X-Team": MASK}, "signing_secret": MASK})
    assert same.status_code == 200 and len(receiver.requests) == tests_before

    # Changing one header re-runs the test, which carries the kept one and the new one
    changed = admin.http.patch(route, json={"headers": {"Authorization": MASK, "X-New": "n"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["headers"] == {"Authorization": MASK, "X-New": MASK}
    test = receiver.requests[-1]
    assert test.testing and test.headers["authorization"] == "Bearer one" and test.headers["x-new"] == "n"
    assert "x-team" not in test.headers

    # A mask for a header that has no saved value is a 422 naming headers
    unknown = admin.http.patch(route, json={"headers": {"X-Unknown": MASK}})
    assert unknown.status_code == 422 and unknown.json()["error"]["problems"][0]["field"] == "headers"
    # and the kind cannot change
    other = admin.http.patch(route, json={"type": "s3"})
    assert other.status_code == 422 and other.json()["error"]["problems"][0]["field"] == "type"

    stored = admin.http.get(route).json()
    assert stored["name"] == "renamed" and stored["headers"] == {"Authorization": MASK, "X-New": MASK}


def test_dns_rebinding_is_refused_when_the_connection_is_opened(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    from worker.errors import DeliveryError
    from worker.kinds.webhook.config import WebhookConfig
    from worker.kinds.webhook.conntest import connection_test

    # Given a name whose first answer is public (the check before connecting passes) and whose next is loopback
    dns = Rebinding(monkeypatch, "hook.rebind.example")
    port = receiver.server.server_address[1]
    config = WebhookConfig(name="x", type="webhook", url=f"https://hook.rebind.example:{port}/hook")
    with pytest.raises(DeliveryError) as refused:
        connection_test(config, allow_private=False)
    assert refused.value.code == "endpoint_forbidden" and "127.0.0.1" in refused.value.message
    assert dns.attempted == []
    time.sleep(0.3)
    assert receiver.requests == []


def test_a_webhook_shows_in_status_and_metrics_like_any_destination(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, receiver: Receiver, api_server: stack.Api
) -> None:
    destination = admin.destination(workspace, hook(receiver.url, format="json"))["id"]
    assert ingest.post("/v1/traces", json={"traces": [make_trace(1)]}).status_code == 202
    status = wait_for(lambda: (s if (s := admin.status(workspace, destination))["delivered"] == 1 else None),
                      what="one delivered")
    assert status["state"] == "healthy" and status["backlog"]["size"] == 0
    metrics = httpx.get(f"{api_server.url}/metrics", timeout=10).text
    assert f'destination="{destination}"' in metrics


def test_a_saved_destination_is_tested_with_its_stored_secrets_and_a_change_applied(
    admin: stack.Admin, workspace: str, receiver: Receiver
) -> None:
    def authorised(request: Request) -> Answer:
        return (204, {}, b"") if request.headers.get("authorization") == "Bearer right" else (401, {}, b"no")

    receiver.behave = authorised
    created = admin.destination(workspace, hook(receiver.url, headers={"Authorization": "Bearer right"}))
    route = f"{destinations(workspace)}/{created['id']}/test"

    kept = admin.http.post(route, json={"headers": {"Authorization": MASK}})
    assert kept.status_code == 200 and kept.json() == {"ok": True, "status": 204}
    changed = admin.http.post(route, json={"headers": {"Authorization": "Bearer wrong"}})
    assert changed.status_code == 400 and changed.json()["error"]["code"] == "unauthorized"
    # nothing was saved by either
    assert admin.http.post(route, json={}).json() == {"ok": True, "status": 204}
    assert receiver.requests[-1].headers["authorization"] == "Bearer right"
