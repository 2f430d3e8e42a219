"""Per-trace delivery to an S3 destination: pure rendering (key and document), then every PUT at once."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson

from worker.batch import BatchDestination, Put
from worker.destination import Destination
from worker.document import build_document
from worker.errors import DeliveryError, TraceRejected
from worker.kinds.s3 import client as s3
from worker.kinds.s3.bucket import Bucket
from worker.kinds.s3.cache import ClientCache
from worker.kinds.s3.config import S3Config, S3Destination
from worker.outbox import Claimed
from worker.paths import PathTemplate, time_values
from worker.verdict import Verdict


def object_key(template: PathTemplate, trace: dict[str, Any]) -> str:
    """``<rendered path>/<id>-<unix seconds>.json``: a pure function of the trace and the destination."""
    epoch_ms = trace["timestamp"]
    path = _path(template, epoch_ms // 3_600_000, trace.get("api_key_name", ""))
    name = f"{trace['id']}-{epoch_ms // 1000}.json"
    return f"{path}/{name}" if path else name


@lru_cache(maxsize=4096)
def _path(template: PathTemplate, hour: int, api_key_name: str) -> str:
    """A trace's path depends on its hour and key name only: rendered once for each (Jinja is a tenth of a
    worker's CPU per trace otherwise)."""
    values = time_values(hour * 3_600_000)
    values["apiKeyName"] = api_key_name
    return template.render(values)


TRACES_PER_CLAIM = 256
"""Traces claimed at once per S3 destination, written MAX_IN_FLIGHT (bucket.py) at a time: the claim and record
scripts and the wait for a claim's slowest PUT come once per 256 traces, not once per 64."""


def render_object(destination: S3Config, template: PathTemplate, body: bytes) -> tuple[str, bytes]:
    trace = orjson.loads(body)
    document = build_document(trace, privacy_mode=destination.privacy_mode)
    return object_key(template, trace), orjson.dumps(document)


def deliver_batch(destination: S3Config, claimed: list[Claimed], *, bucket: Bucket) -> Verdict:
    """Write every claimed trace at once, each rendered when its PUT goes out; sort the outcomes into a verdict."""
    template = destination.template()

    def render(item: Claimed) -> Callable[[], tuple[str, bytes]]:
        def make() -> tuple[str, bytes]:
            try:
                return render_object(destination, template, item.body)
            except Exception as exc:
                raise TraceRejected(f"trace cannot be rendered: {exc}", code="unrenderable") from exc
        return make

    verdict = Verdict()
    for item, error in zip(claimed, bucket.put_all([render(item) for item in claimed]), strict=True):
        verdict.add([item.trace_id], error)
    return verdict


class S3Writer:
    """Writes claimed traces of S3 destinations, one object each, with a cached client per destination: the
    bucket (aiohttp) for per-trace objects, boto3 for batch files."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.buckets = ClientCache(Bucket)
        self.clients = ClientCache(s3.build_client)

    def claim_limit(self, destination: Destination) -> int:
        return TRACES_PER_CLAIM

    def deliver(self, destination: Destination, claimed: list[Claimed]) -> Verdict:
        assert isinstance(destination, S3Destination)
        try:
            bucket = self.buckets.get(destination.id, destination, allow_private=self.allow_private)
        except DeliveryError as exc:  # refused by the fence, or a name that does not resolve now
            verdict = Verdict()
            verdict.add([c.trace_id for c in claimed], exc)
            return verdict
        return deliver_batch(destination, claimed, bucket=bucket)

    def file_put(self, destination: BatchDestination) -> Put:
        """What batch mode writes a file with (worker/batch: FileWriter)."""
        assert isinstance(destination, S3Destination)
        client = self.clients.get(destination.id, destination, allow_private=self.allow_private)
        return lambda **file: s3.put_object(client, bucket=destination.bucket_name, **file)
