"""Nothing fails silently: with traces owed and no worker alive, /readyz says so, and says ready again once one runs.

The api here has a Redis database of its own (own_api), which no worker of the suite serves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

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
