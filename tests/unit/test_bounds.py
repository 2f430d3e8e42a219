"""What a body may make its parser build: elements, traces and spans counted before anything is parsed."""

from __future__ import annotations

import gzip
import zlib

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from api.body import MAX_GZIP_MEMBERS, inflate
from api.errors import ApiError
from api.formats import bounds
from api.formats.detect import decode
from api.formats.model import TooMany

MB = 1024 * 1024


def request(*layout: list[int], attributes: int = 0, value: str = "") -> bytes:
    """An OTLP request: one ResourceSpans per entry of ``layout``, one ScopeSpans per number, that many spans."""
    kvs = [KeyValue(key=f"k{i}", value=AnyValue(string_value=value)) for i in range(attributes)]
    resources = [ResourceSpans(scope_spans=[ScopeSpans(spans=[Span(name="s", attributes=kvs)] * n) for n in scopes])
                 for scopes in layout]
    return ExportTraceServiceRequest(resource_spans=resources).SerializeToString()


@pytest.mark.parametrize("layout", [[[bounds.MAX_SPANS]], [[100, 200], [bounds.MAX_SPANS - 300]]])
def test_spans_up_to_the_limit_pass_and_one_more_is_refused(layout: list[list[int]]) -> None:
    # Given OTLP requests holding exactly the spans allowed, however they are grouped
    bounds.check_protobuf(request(*layout))

    # When one span more is added, Then the request is refused before it is parsed
    layout[-1][-1] += 1
    with pytest.raises(TooMany) as refused:
        bounds.check_protobuf(request(*layout))
    assert refused.value.code == "too_many_spans"


def test_resource_and_scope_entries_count_like_spans() -> None:
    empty_scopes = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        scope_spans=[ScopeSpans()] * (bounds.MAX_SPANS + 1))]).SerializeToString()
    with pytest.raises(TooMany):
        bounds.check_protobuf(empty_scopes)


def test_a_large_protobuf_is_refused_for_its_messages_not_for_the_bytes_in_its_strings() -> None:
    # Given a request over 2 MB whose attribute values are text full of bytes that look like tags
    text = ("\n\"2zjZJ*" * 40_000)[:300_000]
    legit = request([1], attributes=10, value=text)
    assert len(legit) > 2 * MB

    # When it is counted, Then it passes; and the same size in empty attributes is refused
    bounds.check_protobuf(legit)
    dense = request([1], attributes=bounds.MAX_ELEMENTS + 1)
    with pytest.raises(TooMany) as refused:
        bounds.check_protobuf(dense)
    assert refused.value.code == "too_many_elements"


def test_a_malformed_protobuf_is_left_to_the_parser() -> None:
    bounds.check_protobuf(b"\x0a\xff\xff\xff")
    bounds.check_protobuf(b"\x0f")


def test_a_large_json_body_of_text_passes_and_one_of_tiny_values_is_refused() -> None:
    # Given 9 MB of text with commas and brackets in its strings (one in 13 bytes: more than code, prose or chat
    # messages carry), and 9 MB of empty objects in one trace
    text = "if (a, b) in {x: [y]}: pass  # or not. "
    prose = orjson.dumps({"traces": [{"id": f"t{i}", "request": text * 800} for i in range(300)]})
    assert len(prose) > 8 * MB
    dense = b'{"traces":[{"id":"a","request":[' + b"{}," * (3 * MB) + b"{}]}]}"

    # When each is counted, Then the prose passes and the objects are refused for their number
    bounds.check_json(prose, 1000)
    with pytest.raises(TooMany) as refused:
        bounds.check_json(dense, 1000)
    assert refused.value.code == "too_many_elements"


@pytest.mark.parametrize("body", [
    b'{"traces":[' + b"0," * (2 * MB) + b"0]}",
    b"[" + b"0," * (2 * MB) + b"0]",
    b"{}\n" * (2 * MB),
    b'{"id":"traces","traces":[' + b'{"id":"x,y"},' * (MB // 2) + b"0]}",
])
def test_a_dense_body_of_many_traces_is_refused_for_its_traces(body: bytes) -> None:
    with pytest.raises(TooMany) as refused:
        decode(body, "application/json", max_items=1000)
    assert refused.value.code == "too_many_traces"


@pytest.mark.parametrize(("text", "items"), [
    (b'[1,2,3]', 3), (b'{"traces":[{"a":[1,2]},{"b":"x,y"}]}', 2), (b'{"x":"traces","y":[1,2,3]}', 0),
    (b'{"traces":[1,2', 2), (b'{}\n{}\n{}', 2), (b'["a\\"b,c", 1]', 2),
])
def test_leading_items_counts_traces_where_each_format_keeps_them(text: bytes, items: int) -> None:
    assert bounds.leading_items(text, 1000) == items


def test_every_json_shape_is_counted_before_its_items_are_built() -> None:
    trace = {"id": "a", "timestamp": 1, "model": "m"}
    span = {"attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "m"}}]}
    otlp = {"resourceSpans": [{"scopeSpans": [{"spans": [span] * 6}]}]}
    for body in ({"traces": [trace] * 6}, [trace] * 6, otlp):
        with pytest.raises(TooMany):
            decode(orjson.dumps(body), "application/json", max_items=5)
    lines = b"\n".join(orjson.dumps(trace) for _ in range(6))
    with pytest.raises(TooMany):
        decode(lines, "application/json", max_items=5)
    assert len(decode(lines, "application/json", max_items=6).items) == 6


def test_gzip_members_are_inflated_in_order_up_to_the_limit() -> None:
    # Given a body of as many gzip members as allowed, and one of one more
    parts = [f"part {i};".encode() for i in range(MAX_GZIP_MEMBERS)]
    body = b"".join(gzip.compress(part) for part in parts)

    # Then the first inflates to every part in order, and the second is refused
    assert inflate(body, "gzip", MB) == b"".join(parts)
    with pytest.raises(ApiError) as refused:
        inflate(body + gzip.compress(b"one more"), "gzip", MB)
    assert (refused.value.status, refused.value.code) == (413, "too_many_members")


def test_inflating_stops_at_the_limit_and_refuses_broken_streams() -> None:
    data = bytes(range(256)) * 4096
    assert inflate(zlib.compress(data), "deflate", len(data)) == data
    assert inflate(gzip.compress(data), "x-gzip", len(data)) == data
    for broken, encoding, status in ((gzip.compress(data), "gzip", 413), (gzip.compress(data)[:-4], "gzip", 400),
                                     (gzip.compress(data) + b"\0", "gzip", 400), (b"\x1f\x8b no", "gzip", 400)):
        with pytest.raises(ApiError) as refused:
            inflate(broken, encoding, len(data) - 1 if status == 413 else len(data))
        assert refused.value.status == status
