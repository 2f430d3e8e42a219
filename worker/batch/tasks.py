"""Celery tasks of batch mode: glue only. The tick finds due export cycles; export runs one."""

from __future__ import annotations

from worker.batch import BatchDestination, FileWriter
from worker.batch.export import Exporter
from worker.batch.outbox import BatchOutbox
from worker.celery_app import app
from worker.runtime import runtime


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
    if not isinstance(destination, BatchDestination) or destination.delivery_mode != "batch":
        return
    writer = rt.writers[destination.type]
    if not isinstance(writer, FileWriter):
        return
    exporter = Exporter(outbox=rt.outbox, batch=BatchOutbox(rt.redis), connect=writer.file_put)
    exporter.run(destination)
