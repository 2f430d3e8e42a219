"""Delivery to a webhook destination, or any destination that says where its requests go (a ``Target``: the named
OTLP vendors): claimed traces in requests of ``batch_size``, all sent at once on the client's event loop.

A request the receiver refuses for its content (400, 413, 422) is split and its traces sent one per request; a
trace still refused alone goes to dead letters with the status and the start of the answer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson

from worker.destination import Destination
from worker.errors import DeliveryError, TraceRejected
from worker.kinds.webhook.client import Answer, Client, Request, from_answer
from worker.kinds.webhook.target import Target, Targeted
from worker.outbox import Claimed
from worker.ssrf import check_scheme
from worker.verdict import Verdict

REQUESTS_PER_CLAIM = 64
"""Concurrent requests per claimed batch, at most."""
TRACES_PER_CLAIM = 1000
"""Traces claimed at once, at most, unless one request holds more (batch_size up to 1000)."""

Outcome = tuple[list[int], DeliveryError | None]


class WebhookWriter:
    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.client = Client(allow_private=allow_private)

    def claim_limit(self, destination: Destination) -> int:
        assert isinstance(destination, Targeted)
        size = destination.target().batch_size
        return size * max(1, min(REQUESTS_PER_CLAIM, TRACES_PER_CLAIM // size))

    def deliver(self, destination: Destination, claimed: list[Claimed]) -> Verdict:
        assert isinstance(destination, Targeted)
        target = destination.target()
        verdict = Verdict()
        try:
            check_scheme(urlsplit(target.url).scheme, allow_private=self.allow_private)
        except DeliveryError as exc:
            verdict.add([item.trace_id for item in claimed], exc)
            return verdict
        traces: list[tuple[int, dict[str, Any]]] = []
        for item in claimed:
            try:
                traces.append((item.trace_id, orjson.loads(item.body)))
            except orjson.JSONDecodeError as exc:
                verdict.add([item.trace_id], TraceRejected(f"trace cannot be read: {exc}", code="unrenderable"))
        size = target.batch_size
        batches = [traces[i:i + size] for i in range(0, len(traces), size)]
        split: list[list[tuple[int, dict[str, Any]]]] = []
        for batch, (trace_ids, error) in zip(batches, self._send(target, batches), strict=True):
            if isinstance(error, TraceRejected) and len(batch) > 1:
                split += [[single] for single in batch]  # refused content: one trace per request
            else:
                verdict.add(trace_ids, error)
        for trace_ids, error in self._send(target, split):
            verdict.add(trace_ids, error)
        return verdict

    def _send(self, target: Target, batches: list[list[tuple[int, dict[str, Any]]]]) -> list[Outcome]:
        """One request per batch, all at once; each batch's trace ids and what became of them."""
        rendered = [([trace_id for trace_id, _ in batch], self._render(target, batch)) for batch in batches]
        requests = [Request(target.method, target.url, data, target.headers(data, False), target.read_timeout)
                    for _, data in rendered if isinstance(data, bytes)]
        answers = iter(self.client.send_all(requests))
        return [(trace_ids, data if isinstance(data, TraceRejected) else self._outcome(next(answers), target))
                for trace_ids, data in rendered]

    @staticmethod
    def _render(target: Target, batch: list[tuple[int, dict[str, Any]]]) -> bytes | TraceRejected:
        try:
            return target.encode([trace for _, trace in batch])
        except Exception as exc:
            return TraceRejected(f"trace cannot be rendered: {exc}", code="unrenderable")

    @staticmethod
    def _outcome(answer: Answer | DeliveryError, target: Target) -> DeliveryError | None:
        if isinstance(answer, DeliveryError):
            return answer
        return from_answer(answer, credentials=target.credentials)
