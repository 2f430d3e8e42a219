"""Filter rules: every operator on every kind of field (text, number, custom metadata of any type, missing, null,
numbers given as strings, Unicode), and how a destination's rules combine with its other routing."""

from __future__ import annotations

from typing import Any

import pytest

from worker.routing import decide
from worker.rules.config import FilterRules
from worker.rules.match import Filter

TRACE: dict[str, Any] = {
    "id": "gen-1", "timestamp": 1_705_312_800_000, "model": "anthropic/Claude-3.5-Sonnet", "provider": "Anthropic",
    "api_key_name": "prod", "user": "Jörg", "session_id": "s-1", "finish_reason": "stop", "status_code": 200,
    "usage": {"total_tokens": 1200, "prompt_tokens": 1000, "completion_tokens": 200}, "cost": {"total": 0.0125},
    "trace": {"tier": "gold", "seats": "42", "ratio": 0.5, "flag": True, "nothing": None, "city": "STRASSE 5",
              "tags": ["a", "b"]},
    "request": {"messages": [{"role": "user", "content": [{"type": "text", "text": "Wie heißt du?"}]}]},
    "response": {"choices": [{"message": {"role": "assistant", "content": "Ich heiße Claude.",
                                          "tool_calls": [{"function": {"arguments": "{\"q\": \"weather\"}"}}]}}]},
}

CASES = [
    # text fields: case-insensitive (Unicode case folding), exact for regex
    ("model", "equals", "ANTHROPIC/claude-3.5-sonnet", True),
    ("model", "equals", "claude", False),
    ("model", "not_equals", "claude", True),
    ("model", "contains", "claude", True),
    ("model", "not_contains", "claude", False),
    ("model", "starts_with", "anthropic/", True),
    ("model", "ends_with", "SONNET", True),
    ("model", "regex", r"^anthropic/[Cc]laude-3\.\d", True),
    ("model", "regex", r"^anthropic/claude", False),
    ("model", "regex", r"(?i)^anthropic/claude", True),
    ("provider", "equals", "anthropic", True),
    ("user_id", "equals", "JÖRG", True),
    ("metadata.city", "contains", "straße", True),
    ("finish_reason", "exists", None, True),
    ("level", "equals", "default", True),
    # input / output: the text of the messages (multi-part content, tool-call arguments)
    ("input", "contains", "heißt", True),
    ("output", "contains", "claude", True),
    ("output", "contains", "weather", True),
    ("input", "contains", "claude", False),
    # numbers
    ("total_cost", "gt", 0.01, True),
    ("total_cost", "gte", 0.0125, True),
    ("total_cost", "lt", 0.0125, False),
    ("total_cost", "lte", 0.0125, True),
    ("total_tokens", "equals", 1200, True),
    ("total_tokens", "equals", "1200", True),
    ("prompt_tokens", "not_equals", 1000, False),
    ("completion_tokens", "gt", 199.5, True),
    ("status_code", "gte", 400, False),
    ("status_code", "starts_with", "2", True),
    # custom metadata of any type: numbers given as strings compare as numbers
    ("metadata.seats", "gt", 40, True),
    ("metadata.seats", "equals", 42, True),
    ("metadata.seats", "equals", "42", True),
    ("metadata.ratio", "lt", 1, True),
    ("metadata.tier", "gt", 1, False),
    ("metadata.flag", "equals", True, True),
    ("metadata.flag", "equals", "true", True),
    ("metadata.flag", "gt", 0, False),
    ("metadata.tags", "contains", "\"b\"", True),
    # missing and null: only the negative operators and not_exists match
    ("metadata.absent", "equals", "x", False),
    ("metadata.absent", "not_equals", "x", True),
    ("metadata.absent", "contains", "x", False),
    ("metadata.absent", "not_contains", "x", True),
    ("metadata.absent", "gt", 0, False),
    ("metadata.absent", "lt", 0, False),
    ("metadata.absent", "regex", ".*", False),
    ("metadata.absent", "exists", None, False),
    ("metadata.absent", "not_exists", None, True),
    ("metadata.nothing", "exists", None, False),
    ("metadata.nothing", "not_exists", None, True),
    ("metadata.nothing", "not_equals", "x", True),
    ("session_id", "not_exists", None, False),
]


def rules(*groups: list[tuple[str, str, Any]], logic: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    found = []
    for at, group in enumerate(groups):
        body: dict[str, Any] = {"rules": [{"field": f, "operator": o, **({} if v is None else {"value": v})}
                                          for f, o, v in group]}
        if at < len(logic):
            body["logic"] = logic[at]
        found.append(body)
    return FilterRules.model_validate({"groups": found}).model_dump(mode="json")["groups"]


@pytest.mark.parametrize(("field", "operator", "value", "expected"), CASES)
def test_each_operator_on_each_kind_of_field(field: str, operator: str, value: Any, expected: bool) -> None:
    assert Filter(rules([(field, operator, value)])).decide(TRACE).taken is expected


def test_a_missing_number_or_text_field_is_missing_to_every_operator() -> None:
    bare = {"id": "gen-2", "timestamp": 0, "model": "m"}
    for field in ("total_cost", "provider", "api_key_name", "input", "output", "user_id", "status_code"):
        assert Filter(rules([(field, "not_equals", "ci")])).decide(bare).taken
        assert not Filter(rules([(field, "equals", "ci")])).decide(bare).taken
        assert Filter(rules([(field, "not_exists", None)])).decide(bare).taken


def test_every_group_must_match_and_logic_combines_a_groups_rules() -> None:
    # Given OpenRouter's example: claude or openai models, and not the ci key with a cost of at least 0.001
    found = Filter(rules([("model", "contains", "claude"), ("model", "starts_with", "openai/")],
                         [("api_key_name", "not_equals", "ci"), ("total_cost", "gte", 0.001)], logic=("or",)))
    assert found.decide(TRACE).taken
    cheap = {**TRACE, "cost": {"total": 0.0001}}
    assert found.decide(cheap).by == "filter_rules.groups[1].rules[1]"
    other = {**TRACE, "model": "mistral/large"}
    assert found.decide(other).by == "filter_rules.groups[0]"
    assert found.decide({**TRACE, "api_key_name": "CI"}).by == "filter_rules.groups[1].rules[0]"


def test_rules_decide_after_enabled_key_lists_and_sampling_and_disabled_rules_apply_none() -> None:
    route = {"id": "d", "enabled": True, "sampling_rate": 1.0, "api_key_names": None, "exclude_api_key_names": [],
             "filter": Filter(rules([("model", "contains", "gpt")]))}
    assert decide(route, TRACE).by == "filter_rules.groups[0].rules[0]"
    assert decide({**route, "exclude_api_key_names": ["prod"]}, TRACE).by == "exclude_api_key_names"
    assert decide({**route, "enabled": False}, TRACE).by == "enabled"
    off = FilterRules.model_validate({"enabled": False, "groups": [{"rules": [
        {"field": "model", "operator": "contains", "value": "gpt"}]}]})
    assert not off.applies


def test_a_pattern_that_would_backtrack_elsewhere_runs_in_linear_time_here() -> None:
    # Given the classic catastrophic pattern, which RE2 takes (it needs no backtracking to decide)
    found = Filter(rules([("input", "regex", "(x+x+)+y")]))
    # When a trace's input is a long run that almost matches, Then it is decided (the suite's timeout guards it)
    trace = {**TRACE, "request": {"messages": [{"role": "user", "content": "x" * 200_000}]}}
    assert found.decide(trace).by == "filter_rules.groups[0].rules[0]"
