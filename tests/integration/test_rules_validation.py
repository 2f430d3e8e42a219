"""Filter rules, redaction and the preview, as the admin API takes them: every malformed rule a 422 naming its path,
a pattern that needs backtracking refused, fuzzed rules, redactions and traces never a 5xx, and the preview's
answer (in process against the suite's redis-server, fenced to loopback as test_fuzz_api is)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_fuzz_api import ADMIN, WORKSPACE, InProcess, client, destination, fence
from worker.rules.fields import NUMBERS, TEXTS

__all__ = ["client", "destination", "fence"]  # the fixtures of test_fuzz_api, shared

FIELDS = [*TEXTS, *NUMBERS, "metadata.plan", "metadata.", "nope", ""]
OPERATORS = ["equals", "not_equals", "contains", "not_contains", "regex", "starts_with", "ends_with", "gt", "lt",
             "gte", "lte", "exists", "not_exists", "between"]
REGEXISH = st.text(alphabet="()[]{}*+?.\\^$|<=!:-aZ09@ ", max_size=20)
VALUES = st.one_of(st.none(), st.text(max_size=30), REGEXISH, st.floats(allow_nan=False, allow_infinity=False),
                   st.integers(), st.booleans(),
                   st.lists(st.integers(), max_size=2))
RULES = st.fixed_dictionaries({"field": st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)),
                               "operator": st.one_of(st.sampled_from(OPERATORS), st.text(max_size=5))},
                              optional={"value": VALUES, "extra": st.integers()})
FILTER_RULES = st.one_of(
    st.fixed_dictionaries({}, optional={"enabled": st.one_of(st.booleans(), st.integers()), "groups": st.lists(
        st.fixed_dictionaries({"rules": st.lists(RULES, max_size=3)},
                              optional={"logic": st.sampled_from(["and", "or", "xor", ""])}), max_size=3)}),
    st.none(), st.text(max_size=5), st.lists(st.integers(), max_size=2))
REDACTION = st.one_of(
    st.fixed_dictionaries({}, optional={
        "detectors": st.lists(st.sampled_from(["email", "phone", "credit_card", "iban", "ip_address", "secret",
                                               "ssn"]), max_size=7),
        "patterns": st.lists(st.fixed_dictionaries({"name": st.one_of(st.just("emp"), st.text(max_size=8)),
                                                    "regex": REGEXISH}), max_size=3),
        "replace_with": st.sampled_from(["label", "hash", "remove", "mask"]),
        "drop_fields": st.lists(st.one_of(st.sampled_from(["id", "metadata.plan", "request.tools", "a..b"]),
                                          st.text(max_size=10)), max_size=3)}),
    st.none(), st.integers())
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["+44 20 7946 0958 ada@example.com", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "::1 1.2.3.4"])


def preview(client: InProcess, destination_id: str, body: dict[str, Any]) -> Any:
    return client.request("POST", f"/v1/workspaces/{WORKSPACE}/destinations/{destination_id}/preview", json=body,
                          headers=ADMIN)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(rules=FILTER_RULES, redaction=REDACTION, content=TEXT, plan=VALUES)
def test_fuzzed_rules_redactions_and_traces_are_never_a_5xx(client: InProcess, destination: Any, rules: Any,
                                                           redaction: Any, content: str, plan: Any) -> None:
    destination_id, keep = destination
    keep()
    trace = {"id": "gen-1", "timestamp": 1_705_312_800, "model": "m", "trace": {"plan": plan},
             "request": {"messages": [{"role": "user", "content": content}]}}
    answer = preview(client, destination_id, {"trace": trace, "filter_rules": rules, "redaction": redaction})
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        problems = answer.json()["error"]["problems"]
        assert problems and all(p["field"].startswith(("filter_rules", "redaction", "trace")) for p in problems)


@pytest.mark.parametrize(("rules", "field", "reason"), [
    ({"groups": [{"rules": [{"field": "model", "operator": "contains", "value": "c"}]},
                 {"rules": [{"field": "total_cost", "operator": "gte", "value": "0.1"}]}]},
     "filter_rules.groups[1].rules[0].value", "must be a number for gte"),
    ({"groups": [{"rules": [{"field": "model", "operator": "regex", "value": "(a+)\\1"}]}]},
     "filter_rules.groups[0].rules[0].value", "RE2"),
    ({"groups": [{"rules": [{"field": "model", "operator": "regex", "value": "(?=claude)"}]}]},
     "filter_rules.groups[0].rules[0].value", "RE2"),
    ({"groups": [{"rules": [{"field": "total_tokens", "operator": "gt", "value": 2**70}]}]},
     "filter_rules.groups[0].rules[0].value", "at most 64 bits"),
    ({"groups": [{"rules": [{"field": "model", "operator": "exists", "value": 1}]}]},
     "filter_rules.groups[0].rules[0].value", "takes no value"),
    ({"groups": [{"rules": [{"field": "plan", "operator": "equals", "value": "x"}]}]},
     "filter_rules.groups[0].rules[0].field", "metadata.<key>"),
    ({"groups": [{"logic": "xor", "rules": [{"field": "model", "operator": "equals", "value": "x"}]}]},
     "filter_rules.groups[0].logic", "'and' or 'or'"),
])
def test_a_malformed_rule_is_a_422_naming_its_path(client: InProcess, destination: Any, rules: dict[str, Any],
                                                   field: str, reason: str) -> None:
    destination_id, keep = destination
    keep()
    answer = client.request("PATCH", f"/v1/workspaces/{WORKSPACE}/destinations/{destination_id}",
                            json={"filter_rules": rules}, headers=ADMIN)
    assert answer.status_code == 422
    [problem] = answer.json()["error"]["problems"]
    assert problem["field"] == field and reason in problem["reason"], problem


def test_the_preview_says_what_decided_and_shows_the_object_as_redacted(client: InProcess,
                                                                         destination: Any) -> None:
    destination_id, keep = destination
    keep()
    trace = {"id": "gen-7", "timestamp": "2024-01-15T10:00:00Z", "model": "anthropic/claude-3.5",
             "api_key_name": "ci", "user": "ada@example.com",
             "request": {"messages": [{"role": "user", "content": "mail ada@example.com"}]}}
    rules = {"groups": [{"rules": [{"field": "api_key_name", "operator": "not_equals", "value": "ci"}]}]}
    refused = preview(client, destination_id, {"trace": trace, "filter_rules": rules})
    assert refused.json() == {"taken": False, "decided_by": "filter_rules.groups[0].rules[0]", "receives": None}
    taken = preview(client, destination_id, {"trace": trace, "redaction": {"detectors": ["email"]}}).json()
    assert (taken["taken"], taken["decided_by"]) == (True, None)
    receives = taken["receives"]
    assert receives["key"] == "2024-01-15/gen-7-1705312800.json" and receives["content_type"] == "application/json"
    assert "ada@example.com" not in receives["body"] and '"userId":"[EMAIL]"' in receives["body"]
    bad = preview(client, destination_id, {"trace": {"id": "x"}, "extra": 1})
    assert bad.status_code == 422 and bad.json()["error"]["problems"][0]["field"] == "extra"
    bad = preview(client, destination_id, {"trace": {"id": "x", "timestamp": 1}})
    assert bad.status_code == 422 and bad.json()["error"]["problems"][0]["field"] == "trace.model"


def test_a_trace_is_read_as_ingest_reads_it(client: InProcess, destination: Any) -> None:
    destination_id, keep = destination
    keep()
    trace = {"id": "gen-8", "timestamp": 1_705_312_800, "model": "m", "trace": {"big": 2**70}}
    answer = preview(client, destination_id, {"trace": trace})
    assert answer.status_code == 200 and '"big":1.1805916207174113e+21' in answer.json()["receives"]["body"]
    nan = client.request("POST", f"/v1/workspaces/{WORKSPACE}/destinations/{destination_id}/preview",
                         content=b'{"trace": {"id": "gen-8", "timestamp": 1, "model": "m", "trace": {"x": NaN}}}',
                         headers={**ADMIN, "Content-Type": "application/json"})
    assert nan.status_code == 422 and nan.json()["error"]["problems"][0]["field"] == "trace"
