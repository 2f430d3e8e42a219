"""Moving a saved destination elsewhere, as someone holding an admin session would to steal its secrets: a connection
test or a PATCH that changes where it is reached (a webhook's URL, an S3 endpoint) without sending its secrets again
is a 422 naming each one, and the new address gets nothing; with them sent again, it moves."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests import stack
from tests.conftest import wait_for
from tests.receiver import Receiver, new_secret, start_receiver, webhook

pytestmark = pytest.mark.usefixtures("running")

MASK = "********"
STORED = {"Authorization": "Bearer stored-secret", "X-Team": "search"}


@pytest.fixture()
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    """The destination's receiver, and another one on loopback: the attacker's."""
    first, second = start_receiver(), start_receiver()
    yield first, second
    first.stop()
    second.stop()


def saved_hook(admin: stack.Admin, workspace: str, receiver: Receiver) -> str:
    created = admin.destination(workspace, webhook(receiver, headers=STORED, signing_secret=new_secret()))
    return f"/v1/workspaces/{workspace}/destinations/{created['id']}"


def problems(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "secrets_required"
    assert all("send it again" in p["reason"] for p in error["problems"])
    return [p["field"] for p in error["problems"]]


@pytest.mark.parametrize("route", ["test", "patch"])
def test_moving_a_webhook_without_its_secrets_sends_them_nowhere(
    admin: stack.Admin, workspace: str, receivers: tuple[Receiver, Receiver], route: str
) -> None:
    # Given a webhook with stored header values and a signing secret
    receiver, attacker = receivers
    url = saved_hook(admin, workspace, receiver)
    before = admin.http.get(url).json()

    def move(**body: Any) -> Any:
        body = {"url": attacker.url, **body}
        return admin.http.post(f"{url}/test", json=body) if route == "test" else admin.http.patch(url, json=body)

    # When its URL is changed with the secrets left out, sent back masked, or only some of them sent again
    assert problems(move()) == ["headers", "signing_secret"]
    assert problems(move(headers={"Authorization": MASK, "X-Team": MASK}, signing_secret=MASK)) == [
        "headers", "signing_secret"]
    assert problems(move(headers={"Authorization": MASK, "X-Team": "new"}, signing_secret=new_secret())) == [
        "headers"]
    assert problems(move(headers={"Authorization": "Bearer new"})) == ["signing_secret"]
    assert problems(move(url=attacker.url.replace("/hook", "/other"))) == ["headers", "signing_secret"]

    # Then the other receiver got nothing at all, and nothing changed
    assert attacker.requests == []
    assert admin.http.get(url).json() == before

    # With every secret sent again (or removed) it moves, and only what was sent reaches the new receiver
    moved = move(headers={"Authorization": "Bearer attacker-chosen"}, signing_secret=None)
    assert moved.status_code == 200, moved.text
    [test] = attacker.requests
    assert test.testing and test.headers["authorization"] == "Bearer attacker-chosen"
    assert "stored-secret" not in str(test.headers) and "x-team" not in test.headers
    assert "webhook-signature" not in test.headers


def test_a_change_that_keeps_the_url_needs_no_secrets(admin: stack.Admin, workspace: str,
                                                      receivers: tuple[Receiver, Receiver]) -> None:
    receiver, _ = receivers
    url = saved_hook(admin, workspace, receiver)
    same = admin.http.patch(url, json={"url": receiver.url, "format": "json", "headers": {"Authorization": MASK,
                                                                                           "X-Team": MASK}})
    assert same.status_code == 200, same.text
    assert receiver.requests[-1].headers["authorization"] == "Bearer stored-secret"
    assert admin.http.post(f"{url}/test", json={"method": "PUT"}).status_code == 200


@dataclass
class Listener:
    """A TCP port on loopback that records whatever connects to it (the attacker's "S3 endpoint")."""

    url: str
    received: list[bytes] = field(default_factory=list)


@pytest.fixture()
def listener() -> Iterator[Listener]:
    server = socket.create_server(("127.0.0.1", 0))
    found = Listener(f"http://127.0.0.1:{server.getsockname()[1]}")

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    found.received.append(connection.recv(65536))
                except OSError:
                    found.received.append(b"")

    threading.Thread(target=serve, daemon=True).start()
    yield found
    server.close()


def test_moving_an_s3_destination_to_another_endpoint_needs_its_secret_again(
    admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str, listener: Listener
) -> None:
    created = admin.destination(workspace, stack.s3_body(s3, bucket))
    url = f"/v1/workspaces/{workspace}/destinations/{created['id']}"

    # Another bucket or prefix on the same endpoint is no move
    assert admin.http.post(f"{url}/test", json={"prefix": "other"}).status_code == 200

    # Another endpoint is: 422 naming the secret, for a test and a PATCH alike, and nothing connects to it
    for answer in (admin.http.post(f"{url}/test", json={"endpoint": listener.url}),
                   admin.http.patch(url, json={"endpoint": listener.url, "access_secret": MASK})):
        assert problems(answer) == ["access_secret"]
    assert listener.received == []
    assert admin.http.get(url).json()["endpoint"] == s3.endpoint

    # Typed again, the secret goes with the test: this endpoint is reached (and is no S3)
    retyped = admin.http.post(f"{url}/test", json={"endpoint": listener.url, "access_secret": "typed-again"})
    assert retyped.status_code == 400, retyped.text
    wait_for(lambda: listener.received, what="a connection to the new endpoint")
