"""One export cycle of a batch destination: its backlog, in files of at most ``limit`` records.

Each file is named and its record ids written down (the manifest) before the PUT, and its records leave the
outbox only in the script that acknowledges the PUT. A pending manifest is always finished first, with the same
key and the same records, so a failed or killed export is redone exactly and never split or duplicated.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import orjson

from worker import store
from worker.batch import BatchDestination as Destination
from worker.batch import Put
from worker.batch.files import CONTENT_TYPES, encode, extension, file_stem
from worker.batch.outbox import BatchOutbox, Lease, Manifest
from worker.batch.record import build_record
from worker.errors import DeliveryError
from worker.health import Health
from worker.outbox import Outbox
from worker.redaction import outgoing

log = logging.getLogger("tracedrop.export")

MAX_FILE_SOURCE_BYTES = 64 * 1024 * 1024
"""A file also closes before ``limit`` once its records' stored bodies reach this size (bounded memory and PUT)."""
CYCLE_BUDGET = 60.0
"""Seconds one task exports before handing the rest of the cycle to the next tick (fairness between destinations)."""
PAUSE_ENV = "TRACEDROP_TEST_EXPORT_PAUSE"
"""Test hook, off unless set: ``before_put:<seconds>`` or ``after_put:<seconds>`` sleeps at that point of every
file, so a test can kill the worker there deterministically. Never set it in production."""


class Exporter:
    """Runs export cycles with a Redis connection and a way to write to a destination."""

    def __init__(self, *, outbox: Outbox, batch: BatchOutbox, connect: Callable[[Destination], Put]) -> None:
        self.outbox = outbox
        self.batch = batch
        self.connect = connect

    def run(self, destination: Destination) -> int:
        """Export the destination's backlog if a cycle is due and nobody else is on it; return records written."""
        self.batch.taken(destination.id)
        lease = self.batch.lease(destination.id)
        if lease is None:
            return 0
        try:
            return self.cycle(destination, lease)
        finally:
            lease.release()

    def cycle(self, destination: Destination, lease: Lease) -> int:
        cutoff = self.batch.begin(destination.id, lease.token, every_ms=destination.every * 1000)
        if cutoff is None:
            return 0
        written = 0
        at_risk = 0
        deadline = time.monotonic() + CYCLE_BUDGET
        try:
            put = self.connect(destination)
            while lease.held:
                manifest = self.batch.pending(destination.id)
                if manifest is not None:
                    records = self._rebuild(destination, manifest)
                else:
                    opened = self._open(destination, lease, cutoff)
                    if opened is None:
                        break
                    manifest, records = opened
                at_risk = len(manifest.trace_ids)
                done = self._write(destination, manifest, records, put)
                if done < 0:
                    break
                written += done
                if time.monotonic() > deadline:
                    self.batch.continue_soon(destination.id)
                    break
        except DeliveryError as exc:
            self._failed(destination, exc, records=at_risk)
        return written

    def _open(self, destination: Destination, lease: Lease,
              cutoff: int) -> tuple[Manifest, list[dict[str, Any]]] | None:
        records: dict[int, dict[str, Any]] = {}
        while not records:
            items = self.batch.candidates(destination.id, cutoff=cutoff, limit=destination.limit,
                                          max_bytes=MAX_FILE_SOURCE_BYTES)
            if not items:
                return None
            records = self._records(destination, items)
        now_ms = self.batch.now_ms()
        path = destination.file_path(now_ms)
        manifest = self.batch.open(
            destination.id, lease.token, location=destination.file_location,
            stem=file_stem(path, now_ms // 1000), extension=extension(destination.format), fmt=destination.format,
            privacy_mode=destination.privacy_mode, trace_ids=sorted(records),
        )
        if manifest is None:
            return None
        return manifest, [records[trace_id] for trace_id in manifest.trace_ids]

    def _records(self, destination: Destination, items: list[tuple[int, bytes]]) -> dict[int, dict[str, Any]]:
        """Records of the candidates; one that cannot be built goes to dead letters with the reason."""
        records: dict[int, dict[str, Any]] = {}
        for trace_id, body in items:
            try:
                records[trace_id] = build_record(trace_id, outgoing.trace(destination, orjson.loads(body)),
                                                 privacy_mode=destination.privacy_mode)
            except Exception as exc:
                reason = {"code": "unrenderable", "message": f"record cannot be built: {type(exc).__name__}",
                          "at": store.now_iso()}
                self.outbox.dead_letter(destination.id, [trace_id], reason=reason)
                log.warning("dead-lettered", extra={**destination.named(), "code": "unrenderable"})
        return records

    def _rebuild(self, destination: Destination, manifest: Manifest) -> list[dict[str, Any]]:
        bodies = self.batch.bodies(manifest.trace_ids)
        return [build_record(trace_id, outgoing.trace(destination, orjson.loads(bodies[trace_id])),
                             privacy_mode=manifest.privacy_mode)
                for trace_id in manifest.trace_ids if trace_id in bodies]

    def _write(self, destination: Destination, manifest: Manifest, records: list[dict[str, Any]], put: Put) -> int:
        body = encode(records, manifest.format)
        _pause("before_put")
        put(key=manifest.key, body=body, content_type=CONTENT_TYPES[manifest.format])
        _pause("after_put")
        done = self.batch.ack(destination.id, manifest.key)
        log.info("batch exported", extra={**destination.named(), "key": manifest.key,
                                          "records": len(records), "bytes": len(body), "acknowledged": done})
        return done

    def _failed(self, destination: Destination, error: DeliveryError, *, records: int) -> None:
        setback = Health(self.batch.redis).setback(destination.id, error)
        if setback.park:
            self.batch.failed(destination.id, records=records, park=True, probe_ms=setback.delay_ms,
                              error=setback.error)
            log.warning("destination parked", extra={**destination.named(), "code": error.code})
        else:
            self.batch.failed(destination.id, records=records, retry_ms=setback.delay_ms, error=setback.error)
            log.info("export retrying", extra={**destination.named(), "code": error.code,
                                               "delay_ms": setback.delay_ms})


def _pause(stage: str) -> None:
    where, _, seconds = os.environ.get(PAUSE_ENV, "").partition(":")
    if where == stage:
        log.warning("export paused by test hook", extra={"stage": stage, "seconds": seconds})
        time.sleep(float(seconds or 0))
