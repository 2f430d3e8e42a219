"""What an operator watches: the status route, Prometheus metrics and the logs."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import stack
from tests.conftest import make_trace, wait_for, wait_for_keys

pytestmark = pytest.mark.usefixtures("running")


def samples(api_server: stack.Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{api_server.url}/metrics").text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_what_happened_by_destination(
    api_server: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket))["id"]
    marker = "content-marker-7f3a"
    traces = [make_trace(i, request={"messages": [{"role": "user", "content": marker}]}) for i in range(25)]

    assert ingest.post("/v1/traces", json={"traces": traces}).status_code == 202
    wait_for_keys(s3, bucket, 25)
    wait_for(lambda: admin.status(workspace, destination)["delivered"] == 25, what="25 delivered")

    found = samples(api_server)
    by_destination = (("destination", destination), ("workspace", workspace))
    assert found[("tracedrop_workspace_traces_accepted_total", (("workspace", workspace),))] == 25
    assert found[("tracedrop_traces_accepted_total", by_destination)] == 25
    assert found[("tracedrop_traces_delivered_total", by_destination)] == 25
    assert found[("tracedrop_traces_dead_lettered_total", by_destination)] == 0
    assert found[("tracedrop_backlog_traces", by_destination)] == 0
    assert found[("tracedrop_delivery_latency_seconds_count", by_destination)] == 25
    assert found[("tracedrop_delivery_latency_seconds_bucket", (*by_destination[:1], ("le", "+Inf"),
                                                                 *by_destination[1:]))] == 25
    assert found[("tracedrop_delivery_latency_seconds_sum", by_destination)] > 0


def test_status_of_a_healthy_and_a_disabled_destination(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str
) -> None:
    destination = admin.destination(workspace, stack.s3_body(s3, bucket))["id"]
    fresh = admin.status(workspace, destination)
    assert fresh["state"] == "healthy" and fresh["last_success_at"] is None and fresh["last_error"] is None

    assert ingest.post("/v1/traces", json=make_trace(1)).status_code == 202
    wait_for(lambda: admin.status(workspace, destination)["delivered"] == 1, what="one delivery")
    status = admin.status(workspace, destination)
    assert status["last_success_at"] and status["backlog"] == {"size": 0, "oldest_age_seconds": None, "bytes": 0}

    patched = admin.http.patch(f"/v1/workspaces/{workspace}/destinations/{destination}", json={"enabled": False})
    assert patched.status_code == 200
    assert admin.status(workspace, destination)["state"] == "disabled"


def test_logs_are_json_lines_without_secrets_or_trace_content(workdir: Path, s3: stack.SeaweedFS) -> None:
    logs = [p for p in workdir.glob("*.log") if p.name.startswith(("api-", "worker-", "beat"))]
    assert logs
    for log in logs:
        data = log.read_bytes()
        assert s3.secret().encode() not in data
        assert b"content-marker-7f3a" not in data
    worker_events = [line for line in (workdir / "worker-suite.log").read_text().splitlines() if line.startswith("{")]
    assert worker_events and all(orjson.loads(line)["event"] for line in worker_events)
