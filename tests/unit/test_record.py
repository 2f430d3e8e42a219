"""The Aperture ver 2 batch record, built from stored traces without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from worker.batch.record import build_record
from worker.trace import TraceIn, stored_form

FULL: dict[str, Any] = {
    "id": "gen-1705312800-abc123",
    "timestamp": "2024-01-15T10:00:00.250Z",
    "model": "openai/gpt-4o",
    "api_key_name": "prod backend",
    "user": "user-42",
    "session_id": "sess-9",
    "trace": {"trace_name": "support-bot", "env": "prod"},
    "provider": "OpenAI",
    "api_type": "oai_completions",
    "path": "/v1/chat/completions",
    "status_code": 200,
    "finish_reason": "stop",
    "duration_ms": 1834,
    "time_to_first_token_ms": 312,
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52, "cached_tokens": 3,
              "cache_write_tokens": 1, "reasoning_tokens": 5},
    "cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
    "request": {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    "response": {"choices": [{"message": {"role": "assistant", "content": "hello"}}]},
    "identity": {"login_name": "alice@example.com", "node_id": "nXYZ", "tags": ["tag:prod"]},
    "headers": {"request": {"content-type": "application/json", "Authorization": "Bearer sk-secret",
                            "x-api-key": "sk-other"}, "response": {"x-request-id": "r-1", "set-cookie": "a=b"}},
}


def stored(**fields: Any) -> dict[str, Any]:
    return stored_form(TraceIn.model_validate(fields))


def test_a_full_trace_fills_every_field_of_the_schema() -> None:
    record = build_record(41, stored(**FULL), privacy_mode=False)

    assert record == {
        "id": 41,
        "ver": 2,
        "timestamp": datetime(2024, 1, 15, 10, 0, 0, 250000, tzinfo=UTC),
        "identity": {"login_name": "alice@example.com", "node_id": "nXYZ", "tags": ["tag:prod"]},
        "model": "openai/gpt-4o",
        "api_type": "oai_completions",
        "usage": {"input": 12, "output": 40, "cached": 3, "reasoning": 5},
        "estimated_cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
        "duration_ms": 1834,
        "capture_id": "gen-1705312800-abc123",
        "session_id": "sess-9",
        "path": "/v1/chat/completions",
        "status_code": 200,
        "capture": {
            "request": {"headers": {"content-type": "application/json"}, "body": FULL["request"]},
            "response": {"headers": {"x-request-id": "r-1"}, "body": FULL["response"]},
        },
        "tracedrop": {"provider": "OpenAI", "finish_reason": "stop", "user": "user-42",
                      "api_key_name": "prod backend", "time_to_first_token_ms": 312,
                      "trace": {"trace_name": "support-bot", "env": "prod"},
                      "total_tokens": 52, "cache_write_tokens": 1},
    }


def test_field_order_follows_the_aperture_table() -> None:
    record = build_record(1, stored(**FULL), privacy_mode=False)

    assert list(record) == ["id", "ver", "timestamp", "identity", "model", "api_type", "usage", "estimated_cost",
                            "duration_ms", "capture_id", "session_id", "path", "status_code", "capture", "tracedrop"]


def test_privacy_mode_removes_the_bodies_and_keeps_everything_else() -> None:
    full = build_record(1, stored(**FULL), privacy_mode=False)
    private = build_record(1, stored(**FULL), privacy_mode=True)

    assert private["capture"] == {"request": {"headers": {"content-type": "application/json"}},
                                  "response": {"headers": {"x-request-id": "r-1"}}}
    assert {k: v for k, v in private.items() if k != "capture"} == {k: v for k, v in full.items() if k != "capture"}


def test_what_the_trace_did_not_carry_is_omitted_never_zero() -> None:
    record = build_record(7, stored(id="g", timestamp=1705312800, model="m"), privacy_mode=False)

    assert record == {
        "id": 7, "ver": 2, "timestamp": datetime(2024, 1, 15, 10, 0, tzinfo=UTC), "identity": {}, "model": "m",
        "usage": {}, "capture_id": "g",
        "capture": {"request": {"headers": {}}, "response": {"headers": {}}},
    }


def test_partial_usage_and_cost_keep_only_what_was_given() -> None:
    record = build_record(7, stored(id="g", timestamp=0, model="m", usage={"completion_tokens": 0},
                                    cost={"total": 0.5}), privacy_mode=False)

    assert record["usage"] == {"output": 0}
    assert record["estimated_cost"] == {"total": 0.5}


def test_a_json_null_or_scalar_body_is_kept_as_given() -> None:
    record = build_record(7, stored(id="g", timestamp=0, model="m", request="plain prompt", response=[1, 2]),
                          privacy_mode=False)

    assert record["capture"]["request"]["body"] == "plain prompt"
    assert record["capture"]["response"]["body"] == [1, 2]


def test_secret_headers_never_reach_a_record_even_if_stored() -> None:
    trace = {"id": "g", "timestamp": 0, "model": "m",
             "headers": {"request": {"Authorization": "Bearer x", "Accept": "*/*"}}}

    record = build_record(7, trace, privacy_mode=False)

    assert record["capture"]["request"]["headers"] == {"Accept": "*/*"}
