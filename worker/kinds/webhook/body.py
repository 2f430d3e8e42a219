"""Requests of a webhook destination: the body, by format, and the headers (signed). Pure.

- ``json``: the per-trace document of the S3 destination; with ``batch_size`` 1 one object, otherwise always an
  array (also when a split sends a single trace).
- ``otlp_json``: OTLP/JSON, one span per trace (what OpenRouter's Webhook destination sends).
- ``otlp_proto``: OTLP/HTTP protobuf, one span per trace.

``otlp_json`` and ``otlp_proto`` speak the destination's ``conventions`` (a dialect of ``worker.otlp``). The
connection test sends the format's empty payload: ``[]``, ``{"resourceSpans": []}``, or an empty
``ExportTraceServiceRequest``.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from worker.document import build_document
from worker.kinds.webhook import signing
from worker.kinds.webhook.target import Target
from worker.otlp import DIALECTS
from worker.otlp.envelope import export_json, export_request

if TYPE_CHECKING:
    from worker.kinds.webhook.config import WebhookConfig

CONTENT_TYPES = {"json": "application/json", "otlp_json": "application/json", "otlp_proto": "application/x-protobuf"}


def encode(fmt: str, traces: list[dict[str, Any]], *, privacy_mode: bool, batched: bool,
           conventions: str = "genai") -> bytes:
    """The body carrying ``traces`` (stored form) in ``fmt``; ``batched`` when the destination's batch_size > 1."""
    if fmt == "otlp_proto":
        return bytes(export_request(traces, privacy_mode=privacy_mode, dialect=DIALECTS[conventions])
                     .SerializeToString())
    if fmt == "otlp_json":
        return orjson.dumps(export_json(traces, privacy_mode=privacy_mode, dialect=DIALECTS[conventions]))
    documents = [build_document(trace, privacy_mode=privacy_mode) for trace in traces]
    return orjson.dumps(documents if batched else documents[0])


def empty(fmt: str) -> bytes:
    """The connection test's payload: the format's way of saying nothing."""
    if fmt == "otlp_proto":
        return bytes(ExportTraceServiceRequest().SerializeToString())
    if fmt == "otlp_json":
        return b'{"resourceSpans":[]}'
    return b"[]"


def headers(config: WebhookConfig, body: bytes, *, timestamp: int, testing: bool = False) -> dict[str, str]:
    """A request's headers: the configured ones, the format's content type, ``webhook-id`` and
    ``webhook-timestamp`` (so a receiver can drop redeliveries), ``webhook-signature`` when a secret is set, and
    ``X-Test-Connection: true`` for the connection test."""
    sent = {name: value.get_secret_value() for name, value in config.headers.items()}
    sent["Content-Type"] = CONTENT_TYPES[config.format]
    secret = config.signing_secret.get_secret_value() if config.signing_secret is not None else None
    sent.update(signing.headers(secret, body, timestamp=timestamp))
    if testing:
        sent["X-Test-Connection"] = "true"
    return sent


def target(config: WebhookConfig) -> Target:
    """A webhook destination's requests: its URL, method, batch size, format, conventions and headers."""
    return Target(method=config.method, url=config.url, batch_size=config.batch_size,
                  encode=partial(encode, config.format, privacy_mode=config.privacy_mode,
                                 batched=config.batch_size > 1, conventions=config.conventions),
                  empty=empty(config.format),
                  headers=lambda data, testing: headers(config, data, timestamp=int(time.time()), testing=testing))
