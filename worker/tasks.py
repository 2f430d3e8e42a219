"""Celery tasks: glue only. Decode ids, call the runtime, let the outbox record the outcome.

A message only announces work; the outbox is the truth. Losing a message (a killed worker, a Redis restart)
delays traces until the reconciler announces them again; it never loses one.
"""

from __future__ import annotations

from worker import keys
from worker.celery_app import app
from worker.runtime import runtime

KICK_TTL_MS = 3_000
"""The reconciler announces one destination at most once per this long."""


@app.task(name="tracedrop.deliver", ignore_result=True)
def deliver(destination_id: str, trace_ids: list[int]) -> None:
    """Write what is owed to one destination, starting with the traces this message announced."""
    if runtime().drain(destination_id, trace_ids, invite=lambda: deliver.delay(destination_id, [])).more:
        deliver.delay(destination_id, [])


@app.task(name="tracedrop.probe", ignore_result=True)
def probe(destination_id: str) -> None:
    """Connection-test a parked destination; on success it resumes and its backlog is announced."""
    if runtime().probe(destination_id):
        deliver.delay(destination_id, [])


@app.task(name="tracedrop.reconcile", ignore_result=True)
def reconcile() -> None:
    """Re-announce owed traces whose messages were lost (a killed worker, a Redis restart); probe parked ones."""
    rt = runtime()
    stale, parked = rt.reconcile()
    for destination_id in stale:
        if rt.redis.set(keys.kick(destination_id), 1, nx=True, px=KICK_TTL_MS):
            deliver.delay(destination_id, [])
    for destination_id in parked:
        if rt.redis.set(keys.probe(destination_id), 1, nx=True, px=KICK_TTL_MS):
            probe.delay(destination_id)
