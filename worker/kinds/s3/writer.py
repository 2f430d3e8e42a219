"""Per-trace delivery to an S3 destination: pure rendering (key and document), then concurrent PUTs."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import orjson

from worker.batch import extension, file_stem
from worker.destination import Destination
from worker.document import build_document
from worker.errors import DestinationError, TraceRejected
from worker.kinds.s3 import client as s3
from worker.kinds.s3.config import S3Config, S3Destination
from worker.outbox import Claimed
from worker.paths import (
    BATCH_VARIABLES,
    TRACE_VARIABLES,
    PathTemplate,
    parse_template,
    time_values,
    validate_prefix,
)
from worker.verdict import Verdict

Put = Callable[[str, bytes], None]


def object_key(template: PathTemplate, trace: dict[str, Any]) -> str:
    """``<rendered path>/<id>-<unix seconds>.json``: a pure function of the trace and the destination."""
    epoch_ms = trace["timestamp"]
    values = time_values(epoch_ms)
    values["apiKeyName"] = trace.get("api_key_name", "")
    path = template.render(values)
    name = f"{trace['id']}-{epoch_ms // 1000}.json"
    return f"{path}/{name}" if path else name


SAMPLE_TRACE: dict[str, Any] = {"id": "gen-1705312800-abc123", "timestamp": 1_705_312_800_000,
                                "api_key_name": "prod backend"}
"""The trace whose key the settings page shows while a path template is typed."""


def sample_key(*, prefix: str, path_template: str, mode: str, fmt: str) -> str:
    """The key SAMPLE_TRACE would get (per trace), or the first file of a cycle at its time (batch); TemplateError
    says why the template or prefix is refused."""
    validate_prefix(prefix)
    if mode == "batch":
        template = parse_template(path_template, prefix=prefix, allowed=BATCH_VARIABLES)
        seconds = SAMPLE_TRACE["timestamp"] // 1000
        return file_stem(template.render(time_values(seconds * 1000)), seconds) + extension(fmt)
    return object_key(parse_template(path_template, prefix=prefix, allowed=TRACE_VARIABLES), SAMPLE_TRACE)


def render_object(destination: S3Config, template: PathTemplate, body: bytes) -> tuple[str, bytes]:
    trace = orjson.loads(body)
    document = build_document(trace, privacy_mode=destination.privacy_mode)
    return object_key(template, trace), orjson.dumps(document)


def deliver_batch(destination: S3Config, claimed: list[Claimed], *, put: Put, pool: Executor) -> Verdict:
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
        verdict.add([trace_id], future.exception())
    return verdict


class S3Writer:
    """Writes claimed traces of S3 destinations, one object each, with a cached client per destination."""

    def __init__(self, *, pool: Executor, allow_private: bool) -> None:
        self.pool = pool
        self.allow_private = allow_private
        self.clients = s3.ClientCache()

    def claim_limit(self, destination: Destination) -> int:
        return 0  # the runtime's default

    def deliver(self, destination: Destination, claimed: list[Claimed]) -> Verdict:
        assert isinstance(destination, S3Destination)
        try:
            client = self.clients.get(destination.id, destination, allow_private=self.allow_private)
        except DestinationError as exc:
            return Verdict(retry=[c.trace_id for c in claimed], destination_error=exc)

        def put(key: str, body: bytes) -> None:
            s3.put_object(client, bucket=destination.bucket_name, key=key, body=body, content_type="application/json")

        return deliver_batch(destination, claimed, put=put, pool=self.pool)

    def file_put(self, destination: S3Destination) -> Callable[..., None]:
        """What batch mode writes a file with (``put(key=, body=, content_type=)``)."""
        client = self.clients.get(destination.id, destination, allow_private=self.allow_private)
        return lambda **file: s3.put_object(client, bucket=destination.bucket_name, **file)
