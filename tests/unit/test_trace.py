"""Trace input v1: what is accepted, what is refused, what is kept."""

from __future__ import annotations

from typing import Any

import pytest

from worker.trace import parse_timestamp_ms, stored_form, validate_traces


@pytest.mark.parametrize("value, expected", [
    ("2024-01-15T10:00:00Z", 1705312800000),
    ("2024-01-15T10:00:00.123Z", 1705312800123),
    ("2024-01-15T12:00:00+02:00", 1705312800000),
    ("2024-01-15t10:00:00z", 1705312800000),
    (1705312800, 1705312800000),
    (1705312800.25, 1705312800250),
])
def test_timestamps_in_every_accepted_spelling(value: object, expected: int) -> None:
    assert parse_timestamp_ms(value) == expected


@pytest.mark.parametrize("value", ["2024-01-15T10:00:00", "2024-01-15", "yesterday", True, None, -1, float("nan"),
                                   "2024-13-45T10:00:00Z", "2024-01-15T10:00:00Z\n"])
def test_timestamps_without_an_offset_or_nonsense_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_timestamp_ms(value)


def test_secret_headers_are_never_stored() -> None:
    [trace], problems = validate_traces([{
        "id": "a", "timestamp": 1, "model": "m",
        "headers": {"request": {"Authorization": "Bearer x", "X-Api-Key": "k", "cookie": "c", "api-key": "k",
                                "x-goog-api-key": "g", "proxy-authorization": "p", "content-type": "json"},
                    "response": {"set-cookie": "s", "x-request-id": "r"}},
    }])
    assert problems == []
    assert stored_form(trace)["headers"] == {"request": {"content-type": "json"}, "response": {"x-request-id": "r"}}


def test_every_problem_of_every_trace_is_listed() -> None:
    _, problems = validate_traces([
        {"id": "ok", "timestamp": 1, "model": "m"},
        {"id": "", "timestamp": 1, "model": ""},
        {"id": "x", "timestamp": 1, "model": "m", "usage": {"total_tokens": "12"}, "status_code": 99},
    ])
    assert [(p.index, p.field) for p in problems] == [
        (1, "id"), (1, "model"), (2, "status_code"), (2, "usage.total_tokens")]


def test_null_optional_fields_are_not_carried() -> None:
    [trace], _ = validate_traces([{"id": "a", "timestamp": 1, "model": "m", "user": None, "usage": None}])
    assert stored_form(trace) == {"id": "a", "timestamp": 1000, "model": "m"}


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z",
                                   253402300800])
def test_times_outside_1970_to_9999_are_refused_not_crashed_on(value: object) -> None:
    _, problems = validate_traces([{"id": "a", "timestamp": value, "model": "m"}])
    assert [(p.index, p.field) for p in problems] == [(0, "timestamp")]
    assert "out of range" in problems[0].reason


def test_a_duration_ending_after_9999_is_refused_naming_it() -> None:
    _, problems = validate_traces([{"id": "a", "timestamp": 1, "model": "m", "duration_ms": 10**15}])
    assert [(p.field, p.reason) for p in problems] == [("duration_ms", "ends after the year 9999")]


def test_bodies_nested_too_deeply_are_refused_naming_the_field() -> None:
    deep: object = "x"
    for _ in range(300):
        deep = [deep]
    _, problems = validate_traces([{"id": "a", "timestamp": 1, "model": "m", "response": {"a": deep}}])
    assert [(p.field, p.reason) for p in problems] == [("response", "nested deeper than 128 levels")]


def test_long_secret_headers_are_dropped_before_any_check_and_list_values_kept() -> None:
    [trace], problems = validate_traces([{
        "id": "a", "timestamp": 1, "model": "m",
        "headers": {"request": {"authorization": "Bearer " + "j" * 5000, "cookie": 7, "accept": ["a", "b"],
                                "x-long": "v" * 4000}},
    }])
    assert problems == []
    assert stored_form(trace)["headers"] == {"request": {"accept": ["a", "b"], "x-long": "v" * 4000}}


def test_a_trace_that_is_not_an_object_is_named() -> None:
    _, problems = validate_traces([{"id": "a", "timestamp": 1, "model": "m"}, 5])
    assert [(p.index, p.field) for p in problems] == [(1, "trace")]


def test_custom_metadata_is_kept_as_sent_nulls_included() -> None:
    [trace], _ = validate_traces([{"id": "a", "timestamp": 1, "model": "m",
                                   "trace": {"trace_name": "bot", "trace_id": None, "team": None, "env": "prod"}}])
    assert stored_form(trace)["trace"] == {"trace_name": "bot", "team": None, "env": "prod"}


def test_custom_metadata_nested_too_deep_is_refused_not_a_crash() -> None:
    deep: list[Any] = []
    for _ in range(200):
        deep = [deep]
    _, problems = validate_traces([{"id": "a", "timestamp": 1, "model": "m", "trace": {"x": deep}}])
    assert [(p.field, p.reason) for p in problems] == [("trace", "nested deeper than 128 levels")]
