"""Workspaces cannot reach past their own: a name is a plain word (no '.', '..' or path tricks), and one ingest key
cannot fill Redis for every workspace when TRACEDROP_MAX_WORKSPACE_BYTES caps what a workspace may hold."""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from tests import stack
from tests.conftest import OWN_DATABASE, make_trace, wait_for
from tests.receiver import Answer, Request, start_receiver, webhook
from worker import keys
from worker.outbox import Outbox, WorkspaceFull

CAP = 4000
"""Stored bytes a workspace may hold in these tests: two or three of the traces below."""


@pytest.mark.parametrize("name", ["%2E", "%2E%2E", ".hidden", "a.b", "Acme", "-lead", "_lead", "a%20b", "caf%C3%A9",
                                  "a" * 65, "semi;colon"])
def test_a_workspace_name_outside_a_z_0_9_dash_underscore_is_a_422_naming_it(admin: stack.Admin, name: str) -> None:
    for method in ("PUT", "GET"):
        answer = admin.http.request(method, f"/v1/workspaces/{name}", json={"broadcast_enabled": True})
        assert answer.status_code == 422, (method, name, answer.text)
        [problem] = answer.json()["error"]["problems"]
        assert problem["field"] == "path.ws" and "a-z0-9" in problem["reason"]
    names = [w["workspace"] for w in admin.http.get("/v1/workspaces").json()["workspaces"]]
    assert not [n for n in names if n.startswith(".") or n != n.lower()]


def test_plain_names_are_taken(admin: stack.Admin) -> None:
    for name in ("acme", "ws-1", "a", "team_2-prod", "9" * 64):
        assert admin.http.put(f"/v1/workspaces/{name}", json={"broadcast_enabled": True}).status_code in (200, 201)


def trace(index: int) -> dict[str, object]:
    """A trace of about 1.5 KB stored (its content does not compress)."""
    content = base64.b64encode(os.urandom(1500)).decode()
    return make_trace(index, request={"messages": [{"role": "user", "content": content}]})


@pytest.fixture()
def capped_api(workdir: Path, redis_server: stack.RedisServer) -> Iterator[stack.Api]:
    """An api that caps each workspace at CAP stored bytes, on the suite's Redis (its workers deliver)."""
    server = stack.api(workdir, stack.tracedrop_env(redis_server.url, TRACEDROP_MAX_WORKSPACE_BYTES=str(CAP)))
    yield server
    server.stop()


def stored_bytes(api: stack.Api, workspace: str) -> float:
    found = re.search(rf'tracedrop_workspace_stored_bytes{{workspace="{workspace}"}} (\S+)',
                      httpx.get(f"{api.url}/metrics", timeout=10).text)
    return float(found.group(1)) if found else 0.0


@pytest.mark.usefixtures("running")
def test_a_workspace_at_its_cap_gets_503_while_another_is_still_accepted(capped_api: stack.Api) -> None:
    admin = stack.Admin(capped_api.url)
    receiver = start_receiver()
    outage = True
    clients: dict[str, httpx.Client] = {}

    def down_then_up(_: Request) -> Answer:
        return (503, {"Retry-After": "1"}, b"") if outage else (200, {}, b"")

    try:
        # Given a workspace whose only destination is down, so that what it is sent stays in Redis
        greedy, other = (f"ws-{uuid.uuid4().hex[:8]}" for _ in range(2))
        for workspace in (greedy, other):
            admin.workspace(workspace)
            admin.destination(workspace, webhook(receiver, format="json"))
            clients[workspace] = httpx.Client(base_url=capped_api.url, timeout=30, headers={
                "Authorization": f"Bearer {admin.ingest_key(workspace)}"})
        receiver.behave = down_then_up

        # When its gateway sends on and on
        answers = [clients[greedy].post("/v1/traces", json=trace(i)) for i in range(8)]

        # Then once it holds its cap, it is answered 503 workspace_full with Retry-After and nothing more is stored
        statuses = [a.status_code for a in answers]
        full = statuses.index(503)
        assert full >= 2 and statuses[full:] == [503] * (8 - full), statuses
        refused = answers[full].json()["error"]
        assert refused["code"] == "workspace_full" and int(answers[full].headers["retry-after"]) > 0
        held = stored_bytes(capped_api, greedy)
        assert CAP <= held < CAP + 3000

        # While another workspace is still accepted
        assert clients[other].post("/v1/traces", json=trace(100)).status_code == 202

        # And once its destination takes what it owes, the workspace is accepted again
        outage = False
        wait_for(lambda: stored_bytes(capped_api, greedy) == 0, what="the backlog delivered and released")
        assert clients[greedy].post("/v1/traces", json=trace(200)).status_code == 202
    finally:
        receiver.stop()
        for client in clients.values():
            client.close()
        admin.http.close()


@pytest.fixture()
def outbox(redis_server: stack.RedisServer) -> Iterator[tuple[Outbox, redis.Redis]]:
    client = redis.Redis.from_url(f"{redis_server.url.rsplit('/', 1)[0]}/{OWN_DATABASE}")
    client.flushdb()
    client.sadd(keys.DESTINATIONS, "d1", "d2", "d3")  # as saving destinations does
    yield Outbox(client), client
    client.close()


def test_a_trace_owed_to_two_destinations_counts_once_until_its_record_is_released(
    outbox: tuple[Outbox, redis.Redis]
) -> None:
    box, client = outbox

    def held() -> int:
        return int(client.hget(keys.STORED_BYTES, "ws-a") or 0)

    # Given three traces owed to two destinations of one workspace
    ids = box.accept([(orjson.dumps(trace(i)), ["d1", "d2"]) for i in range(3)], workspace="ws-a").trace_ids
    sizes = [len(body) for body in box.bodies(ids)]
    assert held() == sum(sizes)

    # A record leaves the count when its last destination takes it; a dead letter keeps it (its record stays)
    box.delivered("d1", ids)
    assert held() == sum(sizes)
    box.delivered("d2", ids[:1])
    assert held() == sum(sizes[1:])
    box.dead_letter("d2", ids[1:2], reason={"code": "x"})
    assert held() == sum(sizes[1:])

    # At the cap nothing more is stored, for this workspace only
    with pytest.raises(WorkspaceFull):
        box.accept([(orjson.dumps(trace(9)), ["d1"])], workspace="ws-a", cap=held())
    assert box.accept([(orjson.dumps(trace(9)), ["d3"])], workspace="ws-b", cap=held()).trace_ids
    # owed to none: nothing stored, so not refused
    assert box.accept([(orjson.dumps(trace(9)), [])], workspace="ws-a", cap=held()).trace_ids

    # Deleting the destination releases what it still owed, dead letters too
    box.forget("d2")
    assert held() == 0 and client.hexists(keys.STORED_BYTES, "ws-a") is False
