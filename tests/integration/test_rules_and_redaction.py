"""Filter rules and redaction through the whole stack (docs/rules-and-redaction.md): each destination gets exactly
the traces its rules select, and a redacting destination of every kind gets no planted value in any form while a
plain one of the same kind gets every one unchanged (searched in the raw bytes received and stored)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.integration.test_langfuse import form as langfuse_form
from tests.integration.test_langfuse import langfuse_api
from tests.integration.test_status_metrics import samples
from tests.receiver import Receiver, start_receiver

pytestmark = pytest.mark.usefixtures("running")


def test_two_destinations_get_exactly_what_their_rules_select_and_status_counts_the_rest(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str, api_server: stack.Api
) -> None:
    # Given one destination for claude or openai models, and one for costly traces not sent with the ci key
    models, costly = f"{bucket}-m", f"{bucket}-c"
    for name in (models, costly):
        s3.client().create_bucket(Bucket=name)
    first = admin.destination(workspace, stack.s3_body(s3, models, filter_rules={"groups": [{"logic": "or", "rules": [
        {"field": "model", "operator": "contains", "value": "claude"},
        {"field": "model", "operator": "starts_with", "value": "openai/"}]}]}))
    second = admin.destination(workspace, stack.s3_body(s3, costly, filter_rules={"groups": [{"rules": [
        {"field": "api_key_name", "operator": "not_equals", "value": "ci"},
        {"field": "total_cost", "operator": "gte", "value": 0.001}]}]}))

    # When 60 traces of three models, two keys (and none) and three costs arrive
    traces = []
    for i in range(60):
        trace = make_trace(i, model=["anthropic/claude-3.5", "openai/gpt-4o", "mistral/large"][i % 3],
                           cost={"total": [0.0001, 0.001, 0.5][i % 5 % 3]})
        if i % 4:
            trace["api_key_name"] = "ci" if i % 4 == 1 else "prod"
        traces.append(trace)
    assert ingest.post("/v1/traces", json={"traces": traces}).status_code == 202

    # Then each bucket holds exactly the traces its rules select, and status counts the others as filtered
    def wanted(rule: Any) -> set[str]:
        return {f"2024-01-15/gen-{i}-1705312800.json" for i, t in enumerate(traces) if rule(t)}

    by_model = wanted(lambda t: "claude" in t["model"] or t["model"].startswith("openai/"))
    by_cost = wanted(lambda t: t.get("api_key_name") != "ci" and t["cost"]["total"] >= 0.001)
    for destination, name, expected in ((first, models, by_model), (second, costly, by_cost)):
        wait_for(lambda d=destination, e=expected: admin.status(workspace, d["id"])["delivered"] == len(e),
                 what=f"{name} delivered")
        assert set(s3.keys(name)) == expected
        status = admin.status(workspace, destination["id"])
        assert (status["accepted"], status["filtered"]) == (len(expected), 60 - len(expected))
        labels = (("destination", destination["id"]), ("workspace", workspace))
        assert samples(api_server)[("tracedrop_traces_filtered_total", labels)] == 60 - len(expected)


# -- redaction ---------------------------------------------------------------------------------------------------

PLANTED = {
    "email": ["ada.lovelace@example.com", "bob+billing@mail.example.co.uk"],
    "phone": ["+1 415-555-2671", "020 7946 0958", "030 901820", "06 12 34 56 78", "98765 43210"],
    "credit_card": ["4111 1111 1111 1111", "5555555555554444", "3782-822463-10005"],
    "iban": ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
    "ip_address": ["203.0.113.77", "2001:db8::8a2e:370:7334"],
    "secret": ["sk-proj-Abc123def456GHI789jkl0", "AKIAIOSFODNN7EXAMPLE",
               "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
               "Bearer abcDEF123456ghiJKL", "MIIEowIBAAKCAQEA7xKEYBODY"],
    "employee_id": ["EMP-123456"],
}
"""What no redacting destination may receive, in any form; the private key's body stands inside a PEM block."""
LOOK_ALIKES = ["4111 1111 1111 1112", "ORD-2024-118822", "DE88 3704 0044 0532 0130 00"]
"""What only looks like a planted value: left alone."""
DROPPED = "drop-me-7731"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7xKEYBODY\n-----END RSA PRIVATE KEY-----"


def values() -> list[str]:
    return [v for group in PLANTED.values() for v in group]


def forms(value: str) -> list[bytes]:
    """A value as it may travel: as written, its digits alone (a number stripped of its spaces), JSON-escaped."""
    found = {value, orjson.dumps(value).decode()[1:-1]}
    digits = re.sub(r"[^0-9]", "", value)
    if len(digits) >= 7 and not value.startswith(("sk-", "eyJ", "AKIA", "Bearer", "MII")):
        found.add(digits)
    return [f.encode() for f in found]


def planted_trace(index: int) -> dict[str, Any]:
    """Every planted value in every position: message text (plain and multi-part), tool-call arguments, output,
    custom metadata, user id, status message, headers."""
    text = " | ".join([*(v if v != "MIIEowIBAAKCAQEA7xKEYBODY" else PEM for v in values()), *LOOK_ALIKES])
    return make_trace(index, user=PLANTED["email"][0], session_id="s-1", api_key_name="prod",
                      status_message=f"refused: {text}", status_code=200,
                      trace={"customer": text, "customer_email": PLANTED["email"][1], "internal": DROPPED,
                             "card": 4111111111111111},
                      headers={"request": {"x-customer": text}, "response": {"x-served-for": PLANTED["email"][0]}},
                      request={"messages": [
                          {"role": "system", "content": text},
                          {"role": "user", "content": [{"type": "text", "text": text}]},
                          {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
                              "name": "lookup", "arguments": orjson.dumps({"who": text}).decode()}}]}]},
                      response={"choices": [{"message": {"role": "assistant", "content": text}}]})


REDACTION = {"detectors": ["email", "phone", "credit_card", "iban", "ip_address", "secret"],
             "patterns": [{"name": "employee_id", "regex": "EMP-[0-9]{6}"}], "replace_with": "hash",
             "drop_fields": ["metadata.internal"]}


@pytest.fixture()
def receivers() -> Iterator[list[Receiver]]:
    started = [start_receiver() for _ in range(6)]
    for receiver in started[4:]:
        receiver.behave = langfuse_api
    yield started
    for receiver in started:
        receiver.stop()


def test_a_redacting_destination_of_every_kind_gets_no_planted_value_and_a_plain_one_gets_all(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str,
    receivers: list[Receiver]
) -> None:
    # Given a redacting and a plain destination of each kind: S3 objects, S3 batch files, webhook JSON, webhook
    # OTLP protobuf, Langfuse
    buckets = {name: f"{bucket}-{name}" for name in ("tr", "tp", "br", "bp")}
    for name in buckets.values():
        s3.client().create_bucket(Bucket=name)
    json_r, json_p, otlp_r, otlp_p, fuse_r, fuse_p = receivers
    batch = {"mode": "batch", "every": 1, "format": "jsonl.gz"}
    bodies = {
        "s3 redacting": stack.s3_body(s3, buckets["tr"], redaction=REDACTION),
        "s3 plain": stack.s3_body(s3, buckets["tp"]),
        "batch redacting": stack.s3_body(s3, buckets["br"], redaction=REDACTION, **batch),
        "batch plain": stack.s3_body(s3, buckets["bp"], **batch),
        "json redacting": {"name": "j", "type": "webhook", "url": json_r.url, "format": "json",
                           "redaction": REDACTION},
        "json plain": {"name": "j", "type": "webhook", "url": json_p.url, "format": "json"},
        "otlp redacting": {"name": "o", "type": "webhook", "url": otlp_r.url, "format": "otlp_proto",
                           "redaction": REDACTION},
        "otlp plain": {"name": "o", "type": "webhook", "url": otlp_p.url, "format": "otlp_proto"},
        "langfuse redacting": langfuse_form(fuse_r, redaction=REDACTION),
        "langfuse plain": langfuse_form(fuse_p),
    }
    created = {name: admin.destination(workspace, body) for name, body in bodies.items()}
    assert all("redaction_key" not in d for d in created.values()), "the hash key is never answered"

    # When two traces carrying every planted value in every position arrive
    assert ingest.post("/v1/traces", json={"traces": [planted_trace(0), planted_trace(1)]}).status_code == 202

    # Then, in the raw bytes each destination got
    def received(receiver: Receiver) -> bytes:
        return b"\n".join(r.body for r in receiver.accepted())

    def files(name: str) -> bytes:
        return b"\n".join(gzip.decompress(body) for body in s3.objects(buckets[name]).values())

    got: dict[str, Any] = {
        "s3": lambda plain: b"\n".join(s3.objects(buckets["tp" if plain else "tr"]).values()),
        "batch": lambda plain: files("bp" if plain else "br"),
        "json": lambda plain: received(json_p if plain else json_r),
        "otlp": lambda plain: received(otlp_p if plain else otlp_r),
        "langfuse": lambda plain: received(fuse_p if plain else fuse_r),
    }
    for kind in got:
        wait_for(lambda k=kind: all(admin.status(workspace, created[f"{k} {m}"]["id"])["delivered"] == 2
                                    for m in ("redacting", "plain")), what=f"{kind} delivered")
    tokens: dict[str, set[bytes]] = {}
    for kind, read in got.items():
        redacted, plain = read(False), read(True)
        # no planted value reaches the redacting destination in any form, and the look-alikes are left alone
        leaked = [v for v in [*values(), DROPPED] if any(f in redacted for f in forms(v))]
        assert leaked == [], f"{kind}: {leaked} reached the redacting destination"
        assert all(v.encode() in redacted for v in LOOK_ALIKES), kind
        # the plain one gets every one unchanged
        missing = [v for v in [*values(), DROPPED] if v.encode() not in plain]
        assert missing == [], f"{kind}: the plain destination lacks {missing}"
        assert b"[EMAIL:" not in plain
        tokens[kind] = set(re.findall(rb"\[EMAIL:[0-9a-f]{8}\]", redacted))
    # hash tokens: the same two emails give the same two tokens within a destination, other ones in another
    assert all(len(found) == 2 for found in tokens.values()), tokens
    assert len(set().union(*tokens.values())) == 2 * len(tokens), "each destination has a key of its own"
