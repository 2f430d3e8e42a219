"""Which format a request body is in, and reading it: the recognition order of docs/gateways.md.

1. ``Content-Type: application/x-protobuf``: OTLP protobuf.
2. A JSON object with ``resourceSpans``: OTLP/JSON.
3. A JSON array, or newline-delimited JSON objects: each item a LiteLLM payload or a native trace.
4. A single JSON object that is a LiteLLM payload or an Aperture hook call.
5. Anything else: the native format.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from api.formats import aperture, bounds, litellm, native, otlp, otlp_wire
from api.formats.model import Decoded, Item, Undecodable

PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_LINE = re.compile(rb"\S[^\n]*")
"""A line that is not blank, from its first non-blank byte."""


def decode(raw: bytes, content_type: str, max_items: int) -> Decoded:
    """The body's items, read in its format; ``TooMany`` past ``max_items`` traces or the bounds of
    ``api.formats.bounds``, both checked before any item is built."""
    if media_type(content_type) in PROTOBUF_TYPES:
        bounds.check_protobuf(raw)
        items, ignored = otlp.read_spans(otlp_wire.read_protobuf(raw), "otlp_proto", max_items)
        return Decoded("otlp_proto", items, partial=True, ignored=ignored, answer="otlp_proto")
    bounds.check_json(raw, max_items)
    body = parse_json(raw, max_items)
    if isinstance(body, dict) and "resourceSpans" in body:
        bounds.check_otlp_json(body)
        items, ignored = otlp.read_spans(otlp_wire.read_json(body), "otlp_json", max_items)
        return Decoded("otlp_json", items, partial=True, ignored=ignored, answer="otlp_json")
    if isinstance(body, list):
        if len(body) > max_items:
            raise bounds.too_many_traces(len(body), max_items)
        items = [_item(element) for element in body]
        formats = {item.format for item in items}
        return Decoded(formats.pop() if len(formats) == 1 else "mixed", items)
    if litellm.is_payload(body):
        return Decoded(litellm.FORMAT, [litellm.to_item(body)])
    if aperture.is_hook(body):
        return Decoded(aperture.FORMAT, [aperture.to_item(body)])
    return Decoded(native.FORMAT, native.read(body, max_items))


def _item(element: Any) -> Item:
    return litellm.to_item(element) if litellm.is_payload(element) else Item(native.FORMAT, "", element)


def media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def parse_json(raw: bytes, max_items: int) -> Any:
    """One JSON value, or newline-delimited JSON objects as a list (LiteLLM's ``ndjson`` log format) of at most
    ``max_items``."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        error = exc
    documents: list[Any] = []
    for line in _LINE.finditer(raw):
        try:
            documents.append(orjson.loads(line.group()))
        except orjson.JSONDecodeError:
            documents = []
            break
        if len(documents) > max_items:
            raise bounds.too_many_traces(f"over {max_items}", max_items)
    if len(documents) > 1:
        return documents
    format = "otlp_json" if b'"resourceSpans"' in raw[:4096] else native.FORMAT
    raise Undecodable(format, "", f"body is not valid JSON: {error}", code="invalid_json")
