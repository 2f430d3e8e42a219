"""How much a body may make its parser build, counted in the raw bytes before it is parsed.

orjson and protobuf build every element of a body at once, and an element can cost thirty to ninety times the two
or three bytes it takes on the wire (``[{},{},...]``, empty spans or attributes): 32 MB of them would take gigabytes
and seconds before any limit was checked. So, before parsing, a JSON body larger than ``MAX_ELEMENTS`` bytes is
refused (413) when its commas and brackets, strings included, pass ``MAX_ELEMENTS`` or one per
``BYTES_PER_ELEMENT`` bytes, whichever is more; an OTLP request may hold ``MAX_SPANS`` spans (and as many resource
and scope entries), counted in the wire format or the parsed JSON, and a protobuf body large enough to hold more
than ``MAX_ELEMENTS`` messages is counted for them. Every format's traces are counted before any item is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from api.formats.model import TooMany

MAX_ELEMENTS = 1_000_000
BYTES_PER_ELEMENT = 8
MAX_SPANS = 65_536
"""Spans of one OTLP request, LLM requests or not (an OpenTelemetry Collector batches 8,192 by default), and as
many resource and scope entries."""

_PREFIX = 1 << 16
"""Bytes of a refused JSON body read to tell whether it is refused for its number of traces."""


def allowed(size: int) -> int:
    """Elements a body of ``size`` bytes may hold."""
    return max(MAX_ELEMENTS, size // BYTES_PER_ELEMENT)


def too_many_traces(count: int | str, max_items: int) -> TooMany:
    return TooMany("too_many_traces", f"{count} traces in one request; at most {max_items}")


def check_json(raw: bytes, max_items: int) -> None:
    """413 for a JSON body with more values than ``allowed``: commas and brackets bound them, strings included. The
    refusal says ``too_many_traces`` when the body's first bytes already hold more than ``max_items``."""
    limit = allowed(len(raw))
    if len(raw) <= limit:
        return
    found = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if found <= limit:
        return
    if leading_items(raw[:_PREFIX], max_items) > max_items:
        raise too_many_traces(f"over {max_items}", max_items)
    raise TooMany("too_many_elements", f"body holds up to {found} JSON values; at most {limit} (one per "
                  f"{BYTES_PER_ELEMENT} bytes, or {MAX_ELEMENTS})")


def leading_items(raw: bytes, max_items: int) -> int:
    """Traces seen in ``raw``: elements of a top-level array or of a top-level ``traces`` array, or documents on
    their own lines; counting stops past ``max_items``."""
    items = separators = depth = item_depth = 0
    in_string = escaped = False
    key_start, key = 0, b""
    for at, byte in enumerate(raw):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
                if depth == 1:
                    key = raw[key_start:at]
        elif byte == 0x22:
            in_string, key_start = True, at + 1
        elif byte in b"[{":
            depth += 1
            if byte == 0x5B and (depth == 1 or (depth == 2 and key == b"traces")):
                item_depth, separators = depth, 0
        elif byte in b"]}":
            depth -= 1
        elif byte == 0x2C:
            if depth == item_depth:
                separators += 1
            if depth == 1:
                key = b""
        elif byte == 0x0A and depth == 0:
            items += 1
        items = max(items, separators + 1 if item_depth else 0)
        if items > max_items:
            break
    return items


def check_protobuf(raw: bytes) -> None:
    """413 for an OTLP protobuf body with more than ``MAX_SPANS`` spans (or resource and scope entries), or more
    than ``MAX_ELEMENTS`` messages; a malformed body is left for the protobuf parser to refuse."""
    try:
        entries = spans = 0
        for resource in _each(raw, 0, len(raw), _RESOURCE_SPANS):
            for scope in _each(raw, *resource, _SCOPE_SPANS):
                for _ in _each(raw, *scope, _SPANS):
                    spans += 1
                    if spans > MAX_SPANS:
                        raise _too_many_spans()
                entries += 1
                if entries > MAX_SPANS:
                    raise _too_many_spans()
            entries += 1
            if entries > MAX_SPANS:
                raise _too_many_spans()
        if len(raw) // 2 > MAX_ELEMENTS and _messages(raw) > MAX_ELEMENTS:
            raise TooMany("too_many_elements", f"body holds over {MAX_ELEMENTS} protobuf messages")
    except IndexError:  # truncated
        return


def check_otlp_json(body: dict[str, Any]) -> None:
    """413 for an OTLP/JSON body with more than ``MAX_SPANS`` spans, or resource and scope entries; wrong types
    are left for the reader to name."""
    entries = spans = 0
    for resource in _list(body.get("resourceSpans")):
        scopes = _list(resource.get("scopeSpans")) if isinstance(resource, dict) else []
        entries += 1 + len(scopes)
        spans += sum(len(_list(scope.get("spans"))) for scope in scopes if isinstance(scope, dict))
        if spans > MAX_SPANS or entries > MAX_SPANS:
            raise _too_many_spans()


def _too_many_spans() -> TooMany:
    return TooMany("too_many_spans", f"over {MAX_SPANS} spans, or resource and scope entries, in one request")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _each(raw: bytes, at: int, end: int, wanted: int) -> Iterator[tuple[int, int]]:
    """Where each field tagged ``wanted`` (length-delimited) lies in the message ``raw[at:end]``."""
    for tag, start, stop in _fields(raw, at, end):
        if tag == wanted:
            yield start, stop


def _fields(raw: bytes, at: int, end: int) -> Iterator[tuple[int, int, int]]:
    """The tag and extent of each length-delimited field of the message ``raw[at:end]``, up to malformed data. A
    group's fields are walked as the message's own: counted, if anything."""
    while at < end:
        tag, at = _varint(raw, at)
        kind = tag & 7
        if kind == 2:
            length, at = _varint(raw, at)
            yield tag, at, at + length
            at += length
        elif kind == 0:
            _, at = _varint(raw, at)
        elif kind in (1, 5):
            at += 8 if kind == 1 else 4
        elif kind not in (3, 4):
            return


def _messages(raw: bytes) -> int:
    """Messages and repeated strings in an OTLP request, counted up to one past ``MAX_ELEMENTS``: at C speed when the
    bytes that could tag one are few enough, else walking the wire format."""
    if len(raw) - len(raw.translate(None, _TAG_BYTES)) <= MAX_ELEMENTS:
        return 0
    count = 0
    pending = [(0, len(raw), _TABLES[_REQUEST])]
    while pending:
        at, end, table = pending.pop()
        for tag, start, stop in _fields(raw, at, end):
            if tag in table:
                count += 1
                if count > MAX_ELEMENTS:
                    return count
                child = table[tag]
                if child is not None and stop > start:
                    pending.append((start, stop, _TABLES[child]))
    return count


def _tables(root: Descriptor) -> dict[str, dict[int, str | None]]:
    """For each message type under ``root``, the tags of its fields that take one element each: messages (to the
    type's name) and repeated strings or bytes (to None)."""
    tables: dict[str, dict[int, str | None]] = {}
    todo = [root]
    while todo:
        descriptor = todo.pop()
        if descriptor.full_name in tables:
            continue
        table = tables[descriptor.full_name] = {}
        for field in descriptor.fields:
            if field.message_type is not None:
                table[field.number << 3 | 2] = field.message_type.full_name
                todo.append(field.message_type)
            elif field.is_repeated and field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
                table[field.number << 3 | 2] = None
    return tables


_REQUEST = ExportTraceServiceRequest.DESCRIPTOR.full_name
_TABLES = _tables(ExportTraceServiceRequest.DESCRIPTOR)
_TAG_BYTES = bytes(sorted({tag if tag < 0x80 else tag & 0x7F | 0x80 for table in _TABLES.values() for tag in table}))
"""The first byte of every tag in ``_TABLES``: each element starts with one."""
_RESOURCE_SPANS, _SCOPE_SPANS, _SPANS = 1 << 3 | 2, 2 << 3 | 2, 2 << 3 | 2
"""Tags of ``resource_spans`` in the request, ``scope_spans`` in a ResourceSpans, ``spans`` in a ScopeSpans."""


def _varint(raw: bytes, at: int) -> tuple[int, int]:
    value = raw[at]
    if value < 0x80:
        return value, at + 1
    value = shift = 0
    while True:
        byte = raw[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise IndexError("varint too long")
