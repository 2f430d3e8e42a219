"""The Celery application: broker settings that keep tracedrop's promise, and the beat schedule."""

from __future__ import annotations

import tempfile
from pathlib import Path

from celery import Celery

from worker import redis_client
from worker.settings import get_settings

RECONCILE_EVERY = 1.0
"""Seconds between reconciler runs (re-kicks owed traces whose messages were lost, probes parked ones)."""
VISIBILITY_TIMEOUT = 3600
"""Seconds before kombu hands an unacked (reserved, never started) message to another worker: harmless either way."""

app = Celery("tracedrop", include=["worker.tasks", "worker.batch.tasks", "worker.maintenance", "worker.heap"])
DELIVER = "tracedrop.deliver"


def announce(destination_id: str, trace_ids: list[int]) -> None:
    """Tell the workers that a destination has traces due (``trace_ids`` first): a ``tracedrop.deliver`` message,
    sent by name, once: losing one loses nothing (the outbox keeps the traces and the reconciler announces them
    again), so kombu's retries, dear on every publish, are not asked for."""
    app.send_task(DELIVER, args=[destination_id, trace_ids], retry=False)


def configure(celery: Celery = app) -> Celery:
    """Point the app at TRACEDROP_REDIS_URL; called by every entry point before the app is used."""
    settings = get_settings()
    broker_url, sentinel = redis_client.broker(settings.redis_url)
    transport = {"visibility_timeout": VISIBILITY_TIMEOUT, "socket_timeout": 10, "socket_connect_timeout": 5}
    celery.conf.update(
        broker_url=broker_url,
        broker_transport_options={**transport, **sentinel},
        result_backend=None,
        result_backend_transport_options=transport,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # Messages only announce work the outbox already holds: ack on receipt, so a task that fails or a worker
        # that dies never brings a message back (the outbox's lease does), and take one message per free slot,
        # so a worker whose slots are busy leaves the queue to the others.
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        worker_disable_prefetch=True,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        # No remote control (`celery inspect`/`control`): tracedrop uses none of it, and its broadcast channel is
        # one more consumer that kombu re-creates on a Redis restart, where a worker was once seen to die with
        # "'NoneType' object has no attribute 'hostname'" (kombu's channel whose connection was already closed).
        worker_enable_remote_control=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_default_queue="tracedrop",
        beat_schedule={
            "reconcile": {"task": "tracedrop.reconcile", "schedule": RECONCILE_EVERY},
            "batch-tick": {"task": "tracedrop.batch_tick", "schedule": 1.0},
        },
        beat_schedule_filename=str(Path(tempfile.gettempdir()) / "tracedrop-beat-schedule"),
    )
    return celery
