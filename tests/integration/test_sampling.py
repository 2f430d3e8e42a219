"""Sampling and API-key filters, end to end: which objects land in which bucket, over a few thousand traces."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for, wait_for_keys

pytestmark = pytest.mark.usefixtures("running")

TRACES, SESSIONS = 3000, 300
NAMES = ["prod", "canary", "dev", None]


def trace_id(key: str) -> int:
    return int(key.rsplit("/", 1)[-1].split("-")[1])


def test_sessions_are_sampled_whole_deterministically_and_filters_apply(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    # Given three destinations: half the sessions, a fifth of them, and prod+canary keys with canary excluded
    half, fifth, filtered = f"{bucket}-h", f"{bucket}-f", f"{bucket}-k"
    for name in (half, fifth, filtered):
        s3.client().create_bucket(Bucket=name)
    sampled = [admin.destination(workspace, stack.s3_body(s3, name, sampling_rate=rate))["id"]
               for name, rate in ((half, 0.5), (fifth, 0.2))]
    prod = admin.destination(workspace, stack.s3_body(s3, filtered, api_key_names=["prod", "canary"],
                                                      exclude_api_key_names=["canary"]))

    # When 3000 traces in 300 sessions (10 each, every api key name in each session) arrive in six requests
    traces = []
    for i in range(TRACES):
        trace = make_trace(i, session_id=f"s{i % SESSIONS}")
        if NAMES[i % 4]:
            trace["api_key_name"] = NAMES[i % 4]
        traces.append(trace)
    for start in range(0, TRACES, 500):
        assert ingest.post("/v1/traces", json={"traces": traces[start:start + 500]}).status_code == 202

    # Then each sampled bucket holds whole sessions only, about the rate, and the smaller sample is inside the larger
    for destination in sampled:
        wait_for(lambda d=destination: admin.status(workspace, d)["backlog"]["size"] == 0, timeout=120,
                 what="the sampled backlog drained")
    kept: dict[str, set[int]] = {}
    for name in (half, fifth):
        ids = {trace_id(k) for k in s3.keys(name)}
        per_session = Counter(i % SESSIONS for i in ids)
        assert set(per_session.values()) == {TRACES // SESSIONS}, "a session is kept or dropped whole"
        kept[name] = ids
    assert 0.38 < len(kept[half]) / TRACES < 0.62
    assert 0.1 < len(kept[fifth]) / TRACES < 0.3
    assert kept[fifth] < kept[half], "sampling is a pure function of the session: nested across rates"

    # And the filtered bucket holds exactly the prod traces: canary is excluded although listed, dev and no-key out
    expected = {f"2024-01-15/gen-{i}-1705312800.json" for i in range(0, TRACES, 4)}
    assert set(wait_for_keys(s3, filtered, len(expected), timeout=120)) == expected
    wait_for(lambda: admin.status(workspace, prod["id"])["backlog"]["size"] == 0, what="filtered backlog drained")
    assert set(s3.keys(filtered)) == expected
