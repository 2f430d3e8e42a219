"""A worker SIGKILLed while it delivers to a webhook: nothing accepted is lost, and after dropping redeliveries by
``webhook-id`` (as the Standard Webhooks spec asks receivers to) nothing is delivered twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests import stack
from tests.conftest import wait_for
from tests.faults import WORKSPACE, installation, traces
from tests.receiver import Answer, Request, delivered_ids, new_secret, start_receiver, webhook

pytestmark = pytest.mark.faults


def test_a_worker_killed_mid_delivery_loses_nothing_and_duplicates_nothing_after_dedupe(
    tmp_path: Path, s3: stack.SeaweedFS
) -> None:
    receiver = start_receiver()

    def slow(_: Request) -> Answer:
        time.sleep(0.02)  # requests in flight when the kill comes
        return 200, {}, b""

    receiver.behave = slow
    secret = new_secret()
    try:
        with installation(tmp_path, s3) as td:
            # Given 1,000 traces accepted while one worker delivers them to a signed webhook, one per request
            destination = td.admin.destination(WORKSPACE, webhook(receiver, format="json",
                                                                  signing_secret=secret))["id"]
            victim = td.worker()
            for start in range(0, 1000, 100):
                assert td.post(traces(100, start=start)) == 202

            # When that worker is SIGKILLed while requests are in flight
            wait_for(lambda: len(receiver.accepted()) >= 100, what="a first part delivered")
            victim.kill()
            at_kill = len(receiver.accepted())
            assert at_kill < 1000, "the kill came too late to test anything"
            td.worker()

            # Then every trace arrives, and after dedupe by webhook-id each exactly once
            expected = sorted(f"gen-{i}" for i in range(1000))
            wait_for(lambda: len(set(delivered_ids(receiver, secret))) == 1000, timeout=300, what="all 1000")
            assert sorted(delivered_ids(receiver, secret)) == expected
            done = td.wait_status(destination, what="an empty backlog", delivered=1000)
            assert done["backlog"]["size"] == 0 and done["dead_lettered"] == 0
            redelivered = len(receiver.accepted()) - 1000
            print(f"\nwebhook worker SIGKILL: 1000/1000 delivered (at kill {at_kill}), {redelivered} redeliveries, "
                  "all carrying the webhook-id of their first delivery")
    finally:
        receiver.stop()
