"""Each api process keeps what it routes by between requests (api/ingest_cache.py); a change made through the admin
API still applies to the very next trace, and a revoked key stores nothing from the moment it is revoked."""

from __future__ import annotations

import httpx
import orjson

from api.ingest import INLINE_BYTES
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
    answer = post(ingest)
    assert (answer.status_code, answer.json()) == (202, {"accepted": 1, "owed": 1, "discarded": {}})
    assert accepted(admin, workspace, first) == 1

    second = admin.destination(workspace, stack.s3_body(s3, bucket, name="second", prefix="second", **held))["id"]
    assert post(ingest).status_code == 202
    assert (accepted(admin, workspace, first), accepted(admin, workspace, second)) == (2, 1)

    assert admin.http.delete(f"/v1/workspaces/{workspace}/destinations/{first}").status_code == 204
    assert post(ingest).status_code == 202
    assert accepted(admin, workspace, second) == 2

    admin.workspace(workspace, broadcast_enabled=False)
    answer = post(ingest)
    assert (answer.status_code, answer.json()) == (202, {"accepted": 1, "owed": 0, "discarded": {"broadcast_off": 1}})
    assert accepted(admin, workspace, second) == 2
    admin.workspace(workspace, broadcast_enabled=True)
    assert post(ingest).status_code == 202
    assert accepted(admin, workspace, second) == 3

    patched = admin.http.patch(f"/v1/workspaces/{workspace}/destinations/{second}",
                               json={"exclude_api_key_names": ["gateway"]})
    assert patched.status_code == 200, patched.text
    answer = post(ingest)
    assert (answer.status_code, answer.json()) == (202, {"accepted": 1, "owed": 0, "discarded": {"filtered": 1}})
    assert accepted(admin, workspace, second) == 3


def test_the_answer_says_why_traces_were_not_stored_for_delivery(
        admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str) -> None:
    # Given a workspace with broadcast on and no destination, a request's traces are owed to none
    answer = ingest.post("/v1/traces", json={"traces": [make_trace(i) for i in range(2)]})
    assert (answer.status_code, answer.json()) == (202, {"accepted": 2, "owed": 0,
                                                         "discarded": {"no_destination": 2}})

    # And an OTLP exporter is told the same, as OTLP warns: a partial success that rejects nothing
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "chat", "startTimeUnixNano": "1705312800000000000",
            "endTimeUnixNano": "1705312801000000000",
            "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "openai/gpt-4o"}}]}
    answer = ingest.post("/v1/traces", json={"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})
    assert (answer.status_code, answer.json()) == (200, {"partialSuccess": {
        "errorMessage": "1 trace not stored for delivery: no_destination"}})

    # Given a destination that samples nothing and one that takes only another key's traces
    admin.destination(workspace, stack.s3_body(s3, bucket, sampling_rate=1e-9))  # gt 0: no trace here hashes under it
    admin.destination(workspace, stack.s3_body(s3, bucket, name="other", prefix="other", api_key_names=["other"]))

    # Then a trace is sampled out (a destination would take it but for its rate)
    answer = post(ingest)
    assert answer.json() == {"accepted": 1, "owed": 0, "discarded": {"sampled_out": 1}}

    # And once another key's trace is posted with them, each is counted on its side
    answer = ingest.post("/v1/traces", json={"traces": [make_trace(900, api_key_name="other"),
                                                        make_trace(901, api_key_name="gateway")]})
    assert answer.json() == {"accepted": 2, "owed": 1, "discarded": {"sampled_out": 1}}


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


def test_a_large_request_is_routed_and_stored_as_a_small_one_is(
        admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str) -> None:
    # Given a destination that refuses the traces of one gateway key
    destination = admin.destination(workspace, stack.s3_body(s3, bucket, mode="batch", every=86400,
                                                             exclude_api_key_names=["gateway"]))["id"]

    def batch(count: int, padding: int) -> list[dict[str, object]]:
        return [make_trace(10_000 + count * 100 + i, api_key_name="gateway" if i % 2 else "other",
                           request={"messages": [{"role": "user", "content": "x" * padding}]}) for i in range(count)]

    # When one small request (read and stored on the event loop) and one over INLINE_BYTES (in a thread) come
    small, large = batch(4, 10), batch(40, 2000)
    assert len(orjson.dumps({"traces": small})) <= INLINE_BYTES < len(orjson.dumps({"traces": large}))
    answers = [ingest.post("/v1/traces", json={"traces": traces}) for traces in (small, large)]

    # Then each is answered for what became of its traces, and the destination owes the ones it takes
    assert [(a.status_code, a.json()) for a in answers] == [
        (202, {"accepted": 4, "owed": 2, "discarded": {"filtered": 2}}),
        (202, {"accepted": 40, "owed": 20, "discarded": {"filtered": 20}})]
    assert accepted(admin, workspace, destination) == 22
