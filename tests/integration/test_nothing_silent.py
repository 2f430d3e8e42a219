"""Nothing fails silently: with traces owed and no worker alive, /readyz says so, and says ready again once one runs.

The api here has a Redis database of its own (own_api), which no worker of the suite serves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from tests import stack
from tests.conftest import OWN_DATABASE, make_trace, wait_for


def test_readyz_fails_while_traces_are_owed_and_no_worker_is_alive(
        own_api: Callable[..., stack.Api], s3: stack.SeaweedFS, bucket: str, workdir: Path,
        redis_server: stack.RedisServer) -> None:
    # Given an api with no worker, nothing owed: ready
    api = own_api()
    assert httpx.get(f"{api.url}/readyz").status_code == 200

    # When a trace is owed to a destination
    admin = stack.Admin(api.url)
    admin.workspace("quiet")
    admin.destination("quiet", stack.s3_body(s3, bucket))
    key = admin.ingest_key("quiet")
    posted = httpx.post(f"{api.url}/v1/traces", json=make_trace(1), headers={"Authorization": f"Bearer {key}"})
    assert posted.json() == {"accepted": 1, "owed": 1, "discarded": {}}

    # Then /readyz fails, saying why
    answer = httpx.get(f"{api.url}/readyz")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "no_worker"
    assert "1 traces are owed and no worker is alive" in answer.json()["error"]["message"]

    # When a worker starts, then it is ready again (and the trace delivered)
    env = stack.tracedrop_env(f"{redis_server.url.rsplit('/', 1)[0]}/{OWN_DATABASE}")
    worker = stack.worker(workdir, env, name="readyz")
    try:
        wait_for(lambda: httpx.get(f"{api.url}/readyz").status_code == 200, timeout=60, what="ready again")
        wait_for(lambda: s3.keys(bucket), timeout=60, what="the owed trace delivered")
    finally:
        worker.stop()
        admin.http.close()


def test_the_api_logs_one_line_per_request_without_secrets(own_api: Callable[..., stack.Api]) -> None:
    # Given an api and a workspace with broadcast off
    api = own_api()
    admin = stack.Admin(api.url)
    admin.workspace("logged", broadcast_enabled=False)
    key = admin.ingest_key("logged")

    # When a trace is posted, and a request with a wrong key
    posted = httpx.post(f"{api.url}/v1/traces?x=1", json=make_trace(1), headers={"Authorization": f"Bearer {key}"})
    refused = httpx.post(f"{api.url}/v1/traces", json=make_trace(2), headers={"Authorization": "Bearer td_wrong"})
    assert (posted.status_code, refused.status_code) == (202, 401)
    admin.http.close()

    # Then the api's log has a line for each, with what a person needs, and no key or token anywhere
    def lines() -> list[dict[str, object]]:
        found = [orjson.loads(line) for line in api.log.read_text().splitlines() if line.startswith("{")]
        return [line for line in found if line.get("event") == "request"]

    wait_for(lambda: len([line for line in lines() if line["path"] == "/v1/traces"]) == 2, timeout=10,
             what="two ingest lines")
    ingest_lines = [line for line in lines() if line["path"] == "/v1/traces"]
    first, second = ingest_lines
    assert {k: first[k] for k in ("method", "status", "workspace", "accepted", "owed", "discarded")} == {
        "method": "POST", "status": 202, "workspace": "logged", "accepted": 1, "owed": 0,
        "discarded": {"broadcast_off": 1}}
    assert isinstance(first["ms"], float)
    assert (second["status"], second["error"]) == (401, "unauthorized")
    assert any(line["path"] == "/v1/workspaces/logged" and line["workspace"] == "logged" for line in lines())
    text = api.log.read_text()
    assert key not in text and stack.ADMIN_TOKEN not in text and "td_wrong" not in text
