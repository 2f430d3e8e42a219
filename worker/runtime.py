"""One worker process's long-lived parts, and the operations tasks run with them.

Built lazily in each (forked) process: a Redis client, the outbox and one writer per destination kind (whose
requests run on the process's event loop, worker/eventloop.py). Nothing here knows a kind: claim,
``writer.deliver``, record.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from worker import keys, kinds, redis_client, store
from worker.batch.outbox import BatchOutbox
from worker.destination import Destination
from worker.errors import DeliveryError
from worker.health import Health, reason
from worker.kinds.base import Writer
from worker.lease import LEASE_MS, Keeper
from worker.outbox import Claimed, Outbox
from worker.redaction import outgoing
from worker.settings import Settings, get_settings
from worker.verdict import Verdict

log = logging.getLogger("tracedrop.worker")

BATCH = 64
"""Traces claimed at once (unless a kind asks for more)."""
LANES = 4
"""At most this many lanes drain one destination at once (one while it is failing, slow or new): a destination
that hangs holds at most that many lanes, and only until its first timeout."""
TRIAL = 64
"""Traces claimed at once while a destination is failing or new (its claim is 256 for S3 once a batch succeeded): a
destination proves itself with one round of writes, and a new or resumed backlog spreads to more lanes sooner."""
LANES_PER_TASK = 2
"""Lanes one task drains a destination on at once: while one claims and records a batch, the other's writes are
in flight, so a worker process keeps its store busy between batches."""
DRAIN_BUDGET = 2.0
"""Seconds a task keeps draining one destination before handing the rest to a new message at the queue's end."""
INVITES = LANES // LANES_PER_TASK - 1
"""Announcements a task sends once its first whole batch is written and more is due, so that other processes take
the destination's other lanes now, rather than when the next message comes (a destination starts on one lane)."""
STALE_MS = 1_500
"""A trace due this long with nobody working on it gets its destination re-announced by the reconciler."""


@dataclass(frozen=True)
class Drained:
    """What one drain wrote, and whether it stopped with traces still due (the caller announces the rest)."""

    written: int
    more: bool


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = redis_client.connect(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
        self.outbox = Outbox(self.redis)
        self.health = Health(self.redis)
        self.lanes = ThreadPoolExecutor(max_workers=LANES_PER_TASK, thread_name_prefix="lane")
        self.writers: dict[str, Writer] = {
            name: kind.writer(allow_private=self.allow_private) for name, kind in kinds.KINDS.items()}

    @property
    def secret_key(self) -> str:
        return self.settings.secret_key.get_secret_value()

    @property
    def allow_private(self) -> bool:
        return self.settings.allow_private_endpoints

    def destination(self, destination_id: str) -> Destination | None:
        return store.load_destination(self.redis, destination_id=destination_id, secret_key=self.secret_key)

    def deliver(self, destination_id: str, trace_ids: list[int]) -> int:
        """Drain what is due for one destination, starting with ``trace_ids``; return how many were written."""
        return self.drain(destination_id, trace_ids).written

    def drain(self, destination_id: str, trace_ids: list[int], *,
              invite: Callable[[], None] = lambda: None) -> Drained:
        """Claim, write and record batches for one destination for up to DRAIN_BUDGET seconds, on up to
        LANES_PER_TASK lanes at once (``trace_ids`` first); ``invite()`` announces the destination to the other
        processes, called INVITES times once a full claim was written whole. A lane that found the destination held
        to one lane (new or failing: another lane's trial claim in flight) starts again once that claim is written
        whole, so the task drains on all its lanes from then on, not on the trial's alone."""
        destination = self.destination(destination_id)
        if destination is None:
            self.outbox.forget(destination_id)
            return Drained(0, more=False)
        if destination.delivery_mode != "per_trace":
            return Drained(0, more=False)
        return _Task(self, destination, invite).run(trace_ids)

    def write(self, writer: Writer, destination: Destination, lane: str, claimed: list[Claimed]) -> int:
        """Write a claimed batch under its lane (its lease renewed meanwhile) and record the verdict; how many
        were written."""
        with Keeper(self.outbox, destination.id, lane, [c.trace_id for c in claimed]) as keeper:
            verdict = writer.deliver(destination, outgoing.claimed(destination, claimed))
        self.record(destination, verdict, slow=keeper.slow)
        return len(verdict.delivered)

    def record(self, destination: Destination, verdict: Verdict, *, slow: bool = False) -> None:
        """Write a verdict into the outbox: delivered, dead-lettered, retried later, or parked."""
        dest_id = destination.id
        if verdict.delivered:
            self.outbox.delivered(dest_id, verdict.delivered, slow=slow)
        for trace_id, error in verdict.rejected:
            self.outbox.dead_letter(dest_id, [trace_id], reason=reason(error))
            log.warning("dead-lettered", extra={**destination.named(), "code": error.code, "seq": trace_id})
        failure = verdict.destination_error or verdict.transient
        if failure is None:
            return
        setback = self.health.setback(dest_id, failure)
        if setback.park:
            self.outbox.park(dest_id, verdict.retry, error=setback.error, probe_ms=setback.delay_ms)
            log.warning("destination parked", extra={**destination.named(), "code": failure.code,
                                                      "count": len(verdict.retry)})
        else:
            self.outbox.retry(dest_id, verdict.retry, delay_ms=setback.delay_ms, error=setback.error)
            log.info("delivery retrying", extra={**destination.named(), "code": failure.code,
                                                 "count": len(verdict.retry), "delay_ms": setback.delay_ms})

    def probe(self, destination_id: str) -> bool:
        """Connection-test a parked destination; resume it if the test passes."""
        destination = self.destination(destination_id)
        if destination is None:
            self.outbox.forget(destination_id)
            return False
        try:
            kinds.connection_test(destination, allow_private=self.allow_private)
        except DeliveryError as exc:
            setback = self.health.probe_failed(destination_id, exc)
            self.outbox.probe_failed(destination_id, error=setback.error, delay_ms=setback.delay_ms)
            log.info("probe failed", extra={**destination.named(), "code": exc.code,
                                            "next_in_ms": setback.delay_ms})
            return False
        self.resume(destination_id)
        return True

    def resume(self, destination_id: str) -> None:
        released = self.outbox.resume(destination_id)
        log.info("destination resumed", extra={"destination": destination_id, "released": released})

    def reconcile(self) -> tuple[list[str], list[str]]:
        """Destinations whose owed traces nobody is working on, and parked ones due a probe."""
        ids = [i.decode() for i in self.redis.smembers(keys.DESTINATIONS)]
        if not ids:
            return [], []
        stale, probe = self.outbox.stale(ids, grace_ms=STALE_MS)
        batch = {destination_id for destination_id, _ in BatchOutbox(self.redis).destinations()}
        return [d for d in stale if d not in batch], probe


class _Task:
    """The lanes of one drain task, for up to DRAIN_BUDGET seconds. The first full claim written whole invites other
    processes (INVITES) and starts again the lanes whose first claim found no lane free: a destination that is new
    or failing is held to one lane until its trial claim is written, and the task then drains on all its lanes."""

    def __init__(self, runtime: Runtime, destination: Destination, invite: Callable[[], None]) -> None:
        self.runtime, self.destination, self.invite = runtime, destination, invite
        self.writer = runtime.writers[destination.type]
        self.deadline = time.monotonic() + DRAIN_BUDGET
        self.lock = threading.Lock()
        self.proven = False
        """A full claim of this task was written whole."""
        self.held = 0
        """Lanes whose first claim found no lane free before that: started again then."""
        self.others: list[Future[Drained]] = []

    def run(self, wanted: list[int]) -> Drained:
        for _ in range(LANES_PER_TASK - 1):
            self.start()
        try:
            drained = [self.lane(wanted)]
        finally:
            seen: list[Future[Drained]] = []
            while len(seen) < len(self.others):  # a lane may start another until every lane has ended
                seen = list(self.others)
                wait(seen)
        drained += [other.result() for other in self.others]
        return Drained(sum(d.written for d in drained), more=any(d.more for d in drained))

    def start(self, *, again: bool = False) -> None:
        self.others.append(self.runtime.lanes.submit(self.lane, [], again=again))

    def lane(self, wanted: list[int], *, again: bool = False) -> Drained:
        """Claim, write and record batches under one lane until nothing is due or the deadline passed."""
        limit = self.writer.claim_limit(self.destination) or BATCH
        lane, outbox, destination_id = uuid.uuid4().hex, self.runtime.outbox, self.destination.id
        written, first = 0, True
        try:
            while True:
                claim = outbox.claim(destination_id, lane, wanted=wanted, limit=limit, lease_ms=LEASE_MS,
                                     lanes=LANES, trial=TRIAL)
                if not claim.traces:
                    if first and claim.outcome == "busy" and not again and self.found_held():
                        first = False
                        continue
                    return Drained(written, more=False)
                first = False
                batch = self.runtime.write(self.writer, self.destination, lane, claim.traces)
                self.written(len(claim.traces), claim.limit, batch)
                written += batch
                if time.monotonic() > self.deadline:
                    outbox.release(destination_id, lane)
                    return Drained(written, more=True)
                wanted = []
        except BaseException:
            with contextlib.suppress(Exception):
                outbox.release(destination_id, lane)
            raise

    def found_held(self) -> bool:
        """A lane's first claim found no lane free: claim once more now if a full claim was written whole
        meanwhile; else end, to start again once one is."""
        with self.lock:
            if self.proven:
                return True
            self.held += 1
            return False

    def written(self, claimed: int, limit: int, written: int) -> None:
        if claimed != limit or written != claimed:
            return
        with self.lock:
            if self.proven:
                return
            self.proven, held, self.held = True, self.held, 0
            for _ in range(held if time.monotonic() < self.deadline else 0):  # none past the task's budget
                self.start(again=True)
        for _ in range(INVITES):
            self.invite()


_runtime: tuple[int, Runtime] | None = None


def runtime() -> Runtime:
    """This process's runtime (rebuilt after a fork)."""
    global _runtime
    if _runtime is None or _runtime[0] != os.getpid():
        _runtime = (os.getpid(), Runtime(get_settings()))
    return _runtime[1]
