"""Delivery of claimed traces to one per-trace destination: pure rendering, concurrent PUTs, one verdict."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import orjson

from worker.destination import Destination
from worker.document import build_document
from worker.errors import DeliveryError, DestinationError, TraceRejected, TransientError
from worker.outbox import Claimed
from worker.paths import PathTemplate, time_values

Put = Callable[[str, bytes], None]


def object_key(template: PathTemplate, trace: dict[str, Any]) -> str:
    """``<rendered path>/<id>-<unix seconds>.json``: a pure function of the trace and the destination."""
    epoch_ms = trace["timestamp"]
    values = time_values(epoch_ms)
    values["apiKeyName"] = trace.get("api_key_name", "")
    path = template.render(values)
    name = f"{trace['id']}-{epoch_ms // 1000}.json"
    return f"{path}/{name}" if path else name


def render_object(destination: Destination, template: PathTemplate, body: bytes) -> tuple[str, bytes]:
    trace = orjson.loads(body)
    document = build_document(trace, privacy_mode=destination.privacy_mode)
    return object_key(template, trace), orjson.dumps(document)


@dataclass
class Verdict:
    """What became of one claimed batch."""

    delivered: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    rejected: list[tuple[int, DeliveryError]] = field(default_factory=list)
    transient: TransientError | None = None
    destination_error: DestinationError | None = None


def deliver_batch(destination: Destination, claimed: list[Claimed], *, put: Put, pool: Executor) -> Verdict:
    """Render and write every claimed trace concurrently; sort the outcomes into a verdict."""
    template = destination.template()

    def one(item: Claimed) -> None:
        try:
            key, data = render_object(destination, template, item.body)
        except Exception as exc:
            raise TraceRejected(f"trace cannot be rendered: {exc}", code="unrenderable") from exc
        put(key, data)

    verdict = Verdict()
    futures = [(item.trace_id, pool.submit(one, item)) for item in claimed]
    for trace_id, future in futures:
        error = future.exception()
        if error is None:
            verdict.delivered.append(trace_id)
        elif isinstance(error, TraceRejected):
            verdict.rejected.append((trace_id, error))
        elif isinstance(error, DestinationError):
            verdict.destination_error = verdict.destination_error or error
            verdict.retry.append(trace_id)
        else:
            transient = error if isinstance(error, TransientError) else TransientError(repr(error))
            verdict.transient = verdict.transient or transient
            verdict.retry.append(trace_id)
    return verdict
