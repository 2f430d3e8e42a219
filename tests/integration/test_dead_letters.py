"""Dead letters: a trace the store refuses for good is set aside with the reason, the others are written.

The destination reaches the suite's SeaweedFS through a loopback proxy that answers ``400 EntityTooLarge`` to any
PUT whose key contains a marker, as S3 answers an object it will never take.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.fault_proxy import FaultProxy
from tests.faults import all_keys, keys_of, traces
from tests.receiver import Answer, Receiver, Request, delivered_ids, start_receiver, webhook

pytestmark = pytest.mark.usefixtures("running")


def test_a_trace_refused_for_good_goes_to_dead_letters_and_can_be_replayed(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    with FaultProxy(s3.endpoint, poison="poison") as proxy:
        # Given a destination whose store refuses one object for good
        body = {**stack.s3_body(s3, bucket), "endpoint": proxy.endpoint, "path_template": "{prefix}/{apiKeyName}"}
        destination = admin.destination(workspace, body)["id"]
        routes = f"/v1/workspaces/{workspace}/destinations/{destination}"

        # When one trace of eleven is the one the store refuses
        batch = [*traces(10, api_key_name="ok"), make_trace(10, api_key_name="poison")]
        assert ingest.post("/v1/traces", json={"traces": batch}).status_code == 202

        # Then the ten are written and the eleventh is a dead letter with the store's reason
        expected = keys_of(range(10), path="ok")
        assert all_keys(s3, bucket, expected, timeout=60) == expected
        wait_for(lambda: admin.status(workspace, destination)["dead_lettered"] == 1, what="one dead letter")
        [letter] = admin.http.get(f"{routes}/dead-letters").json()["dead_letters"]
        assert letter["trace_id"] == "gen-10"
        assert letter["reason"]["code"] == "trace_rejected" and "EntityTooLarge" in letter["reason"]["message"]
        assert letter["at"]
        status = admin.status(workspace, destination)
        assert status["state"] == "healthy" and status["backlog"]["size"] == 0 and status["dead_letters"] == 1
        assert set(s3.keys(bucket)) == expected

        # When the store is fixed (the destination now writes straight to it, its secret sent again as a move
        # requires) and the dead letters replayed
        fixed = admin.http.patch(routes, json={"endpoint": s3.endpoint, "access_secret": body["access_secret"]})
        assert fixed.status_code == 200, fixed.text
        replay = admin.http.post(f"{routes}/dead-letters/replay")
        assert replay.status_code == 202 and replay.json() == {"replayed": 1}

        # Then the trace arrives, once, and the dead letters are empty
        everything = expected | keys_of([10], path="poison")
        assert all_keys(s3, bucket, everything, timeout=60) == everything
        assert admin.http.get(f"{routes}/dead-letters").json()["dead_letters"] == []
        assert proxy.refused == 1


REPLAYS = 20


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = start_receiver()
    yield server
    server.stop()


def test_replay_delivers_every_time_even_while_a_transient_failure_holds_the_destination(
        admin: stack.Admin, workspace: str, ingest: httpx.Client, receiver: Receiver,
        worker_proc: stack.Service) -> None:
    # Given a receiver that, until it is fixed, refuses a poison trace for good and answers another with 503 and
    # Retry-After: 120 (which holds the destination for two minutes)
    fixed = {"done": False}

    def broken(request: Request) -> Answer:
        if fixed["done"]:
            return 200, {}, b""
        if b"poison" in request.body:
            return 422, {}, b"poison is not welcome"
        return (503, {"Retry-After": "120"}, b"busy") if b"busy" in request.body else (200, {}, b"")

    receiver.behave = broken
    destination = admin.destination(workspace, webhook(receiver, format="json"))["id"]
    route = f"/v1/workspaces/{workspace}/destinations/{destination}"
    for n in range(REPLAYS):
        # When a poison trace is dead-lettered (every other round while the destination is held), the receiver is
        # fixed and the dead letters replayed
        fixed["done"] = False
        poison, busy = f"gen-{2 * n}", f"gen-{2 * n + 1}"
        assert ingest.post("/v1/traces", json=make_trace(2 * n, user="poison")).status_code == 202
        wait_for(lambda n=n: admin.status(workspace, destination)["dead_lettered"] == n + 1,
                 timeout=30, what=f"dead letter {n}")
        if n % 2:
            assert ingest.post("/v1/traces", json=make_trace(2 * n + 1, user="busy")).status_code == 202
            wait_for(lambda: admin.status(workspace, destination)["retry_at"], timeout=30, what=f"held {n}")
        fixed["done"] = True
        assert admin.http.post(f"{route}/dead-letters/replay").json() == {"replayed": 1}

        # Then it is delivered at once, every time, even while the other trace waits out its two minutes
        wait_for(lambda poison=poison: poison in delivered_ids(receiver, ""), timeout=30,
                 what=f"replayed trace {poison}")
        if n % 2:
            assert busy not in delivered_ids(receiver, "")
    assert admin.http.get(f"{route}/dead-letters").json()["dead_letters"] == []

    # And the worker's log names the workspace and the destination of each dead letter and hold
    events = [orjson.loads(line) for line in worker_proc.log.read_text(errors="replace").splitlines()
              if line.startswith("{") and destination in line]
    named = {(e["event"], e.get("workspace"), e.get("destination"), e.get("destination_name"), e.get("kind"))
             for e in events}
    assert {("dead-lettered", workspace, destination, "hook", "webhook"),
            ("delivery retrying", workspace, destination, "hook", "webhook")} <= named
