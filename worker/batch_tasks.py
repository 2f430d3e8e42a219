"""Celery tasks of batch mode: glue only. The tick finds due export cycles; export runs one."""

from __future__ import annotations

from functools import partial

from worker import s3
from worker.batch_outbox import BatchOutbox
from worker.celery_app import app
from worker.destination import Destination
from worker.export import Exporter, Put
from worker.runtime import Runtime, runtime


@app.task(name="tracedrop.batch_tick", ignore_result=True)
def batch_tick() -> None:
    """Announce every batch destination whose export cycle is due and that nobody is exporting."""
    for destination_id in BatchOutbox(runtime().redis).tick():
        export.delay(destination_id)


@app.task(name="tracedrop.export", ignore_result=True)
def export(destination_id: str) -> None:
    """Run one export cycle of a batch destination, if it is still due."""
    rt = runtime()
    destination = rt.destination(destination_id)
    if destination is None or destination.mode != "batch":
        return
    exporter = Exporter(outbox=rt.outbox, batch=BatchOutbox(rt.redis), connect=partial(_connect, rt))
    exporter.run(destination)


def _connect(rt: Runtime, destination: Destination) -> Put:
    client = rt.clients.get(destination.id, destination, allow_private=rt.allow_private)
    return partial(s3.put_object, client, bucket=destination.bucket_name)
