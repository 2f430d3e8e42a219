"""Which destinations a trace is owed to: deterministic sampling by session, API-key filters."""

from __future__ import annotations

from typing import Any

from worker.routing import sample_point, selects


def route(**fields: Any) -> dict[str, Any]:
    return {"id": "d", "enabled": True, "mode": "per_trace", "sampling_rate": 1.0, "api_key_names": None,
            "exclude_api_key_names": [], **fields}


def test_sampling_keeps_the_rate_and_whole_sessions() -> None:
    traces = [{"id": f"t{i}", "session_id": f"s{i % 4000}"} for i in range(20000)]
    kept = [t for t in traces if selects(route(sampling_rate=0.25), t)]
    sessions = {t["session_id"] for t in kept}
    assert 0.23 < len(sessions) / 4000 < 0.27
    assert len(kept) == 5 * len(sessions)


def test_sampling_is_deterministic_and_nested() -> None:
    traces = [{"id": f"t{i}"} for i in range(5000)]
    at_10 = {t["id"] for t in traces if selects(route(sampling_rate=0.1), t)}
    at_50 = {t["id"] for t in traces if selects(route(sampling_rate=0.5), t)}
    assert at_10 == {t["id"] for t in traces if selects(route(sampling_rate=0.1), t)}
    assert at_10 < at_50
    assert all(0 <= sample_point(t) < 1 for t in traces)


def test_api_key_filters_and_exclusion_wins() -> None:
    allow = route(api_key_names=["prod", "batch"], exclude_api_key_names=["batch"])
    assert selects(allow, {"id": "a", "api_key_name": "prod"})
    assert not selects(allow, {"id": "a", "api_key_name": "batch"})
    assert not selects(allow, {"id": "a", "api_key_name": "dev"})
    assert not selects(allow, {"id": "a"})
    assert selects(route(exclude_api_key_names=["dev"]), {"id": "a"})
    assert not selects(route(enabled=False), {"id": "a"})
