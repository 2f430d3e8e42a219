"""Isolation: one destination down or hanging never holds back, loses or duplicates another's deliveries.

The other destination reaches the suite's SeaweedFS through a loopback proxy the test switches between passing,
hanging (connections accepted, never answered: every PUT waits for the read timeout) and down (connection
refused, as from a stopped server). The healthy destination's delivery latency in each phase is printed (run
with -s), never asserted; what is asserted is what a user checks: every object, once, in both buckets.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests import stack
from tests.conftest import wait_for
from tests.fault_proxy import FaultProxy, Mode
from tests.faults import all_keys, keys_of, latency, traces

pytestmark = pytest.mark.usefixtures("running")


def test_a_destination_hanging_or_down_does_not_hold_back_another(
    api_server: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS,
    bucket: str,
) -> None:
    other_bucket = f"{bucket}-other"
    s3.client().create_bucket(Bucket=other_bucket)
    with FaultProxy(s3.endpoint) as proxy:
        # Given two destinations of one workspace, both healthy; the other one's store sits behind the proxy
        healthy = admin.destination(workspace, stack.s3_body(s3, bucket))["id"]
        other = admin.destination(workspace, {**stack.s3_body(s3, other_bucket), "endpoint": proxy.endpoint})["id"]

        def phase(start: int, mode: Mode) -> dict[str, Any]:
            proxy.set(mode)
            count, total = latency(api_server.url, workspace, healthy)
            began = time.monotonic()
            for offset in range(0, 300, 30):
                assert ingest.post("/v1/traces", json={"traces": traces(30, start=start + offset)}).status_code == 202
            all_keys(s3, bucket, keys_of(range(start + 300)), timeout=120)
            wall = time.monotonic() - began
            wait_for(lambda: admin.status(workspace, healthy)["delivered"] == start + 300, what="delivered count")
            count_after, total_after = latency(api_server.url, workspace, healthy)
            return {"mode": mode, "wall_s": round(wall, 2),
                    "mean_latency_s": round((total_after - total) / (count_after - count), 3)}

        # When 300 traces go to both while the other store works, then hangs, then is down
        normal = phase(0, "pass")
        wait_for(lambda: admin.status(workspace, other)["delivered"] == 300, what="the other destination caught up")
        hanging = phase(300, "hang")
        hung_state = wait_for(lambda: (s if (s := admin.status(workspace, other))["state"] == "failing" else None),
                              what="the hanging destination failing")
        down = phase(600, "down")
        down_state = wait_for(lambda: (s if (s := admin.status(workspace, other))["last_error"]["code"]
                                       == "endpoint_unreachable" else None), what="the down destination failing")

        # Then the healthy destination got every trace, once, in every phase
        assert set(s3.keys(bucket)) == keys_of(range(900))
        assert admin.status(workspace, healthy)["backlog"]["size"] == 0
        # and the other one kept what it owes, failing (retrying, not parked), writing nothing twice
        assert hung_state["state"] == "failing" and hung_state["last_error"]["code"] == "timeout"
        assert down_state["state"] == "failing" and down_state["parked"] is False
        assert down_state["backlog"]["size"] == 600
        assert set(s3.keys(other_bucket)) == keys_of(range(300))

        # When the other store comes back, it gets everything it was owed, once
        proxy.set("pass")
        healed_at = time.monotonic()
        assert all_keys(s3, other_bucket, keys_of(range(900)), timeout=120) == keys_of(range(900))
        recovered = time.monotonic() - healed_at
        wait_for(lambda: admin.status(workspace, other)["state"] == "healthy", what="the other one healthy")

    for destination_id in (healthy, other):
        assert admin.http.delete(f"/v1/workspaces/{workspace}/destinations/{destination_id}").status_code == 204
    print(f"\nisolation (healthy destination, 300 traces per phase, worker concurrency 2): other store working "
          f"{normal['wall_s']}s (mean latency {normal['mean_latency_s']}s); other hanging {hanging['wall_s']}s "
          f"({hanging['mean_latency_s']}s, ratio {hanging['mean_latency_s'] / normal['mean_latency_s']:.2f}); "
          f"other down {down['wall_s']}s ({down['mean_latency_s']}s, ratio "
          f"{down['mean_latency_s'] / normal['mean_latency_s']:.2f}); {proxy.hung} PUTs hung; the other "
          f"destination caught up {recovered:.1f}s after its store came back")
