"""A receiver's answer in a message: decoded as its headers say, or described, never raw bytes."""

from __future__ import annotations

import gzip
import zlib

from hypothesis import given
from hypothesis import strategies as st

from worker.egress import ANSWER_BYTES, EXCERPT_BYTES
from worker.excerpts import excerpt, inflated
from worker.kinds.s3.bucket import Answer as S3Answer
from worker.kinds.s3.bucket import _error as s3_error
from worker.kinds.webhook.errors import from_status


def test_a_gzip_answer_is_inflated_and_shown_as_its_text() -> None:
    body = gzip.compress(b'{"error": "unsupported content type"}')

    error = from_status(415, body, content_type="application/json", content_encoding="gzip", testing=True)

    assert error is not None and 'HTTP 415: {"error": "unsupported content type"}' in error.message


def test_deflate_in_zlib_or_raw_form_is_inflated() -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert excerpt(zlib.compress(b"slow down"), content_encoding="deflate") == "slow down"
    assert excerpt(raw.compress(b"slow down") + raw.flush(), content_encoding="Deflate") == "slow down"


def test_a_gzip_answer_cut_at_answer_bytes_inflates_as_far_as_it_goes() -> None:
    cut = gzip.compress(("refused: " + "x" * 50_000).encode(), compresslevel=0)[:ANSWER_BYTES]

    shown = excerpt(cut, content_type="text/plain", content_encoding="gzip")

    assert shown.startswith("refused: xxx") and len(shown.encode()) <= EXCERPT_BYTES


def test_a_stream_that_does_not_inflate_or_an_unknown_encoding_is_described() -> None:
    assert excerpt(b"\x1f\x8b\x08 not really", content_encoding="gzip") == "gzip, 14 bytes that do not inflate"
    assert excerpt(b"\x8b\x02\x80", content_encoding="br") == "br-encoded, 3 bytes"


def test_the_charset_of_the_content_type_is_honoured() -> None:
    assert excerpt("Zugriff verweigert: Schlüssel ungültig".encode("latin-1"),
                   content_type="text/plain; charset=ISO-8859-1") == "Zugriff verweigert: Schlüssel ungültig"
    assert excerpt("認証エラー".encode("shift_jis"), content_type='text/html; charset="Shift_JIS"') == "認証エラー"
    assert excerpt(b"plain", content_type="text/plain; charset=no-such-charset") == "plain"


def test_binary_answers_are_described_not_shown() -> None:
    protobuf = bytes(range(61))
    assert excerpt(protobuf, content_type="application/x-protobuf") == "binary (application/x-protobuf), 61 bytes"
    assert excerpt(protobuf) == "binary, 61 bytes"
    assert excerpt(gzip.compress(protobuf), content_type="application/x-protobuf", content_encoding="gzip") == \
        f"binary (application/x-protobuf, gzip), {len(gzip.compress(protobuf))} bytes"
    assert excerpt(b"\x89PNG\r\n\x1a\n", content_type="image/png") == "binary (image/png), 8 bytes"
    error = from_status(500, protobuf, content_type="application/x-protobuf")
    assert error is not None and error.message.startswith("The receiver failed (HTTP 500: binary (application/x-")


def test_text_without_a_content_type_is_shown_and_a_character_cut_at_the_end_is_dropped() -> None:
    assert excerpt(b"  Not Found\n") == "Not Found"
    assert excerpt(("é" * EXCERPT_BYTES).encode()) == "é" * (EXCERPT_BYTES // 2)


@given(st.binary(max_size=ANSWER_BYTES), st.sampled_from([None, "gzip", "deflate", "identity", "zstd"]),
       st.sampled_from([None, "text/plain; charset=utf-16", "application/json", "application/x-protobuf"]))
def test_any_answer_becomes_short_printable_text(body: bytes, encoding: str | None, content_type: str | None) -> None:
    shown = excerpt(body, content_type=content_type, content_encoding=encoding)

    assert len(shown.encode()) <= EXCERPT_BYTES * 3  # a replacement character is 3 bytes of UTF-8
    if content_type == "application/x-protobuf" and body:
        assert "bytes" in shown


def test_inflated_reads_a_body_as_its_encoding_says_up_to_a_limit() -> None:
    body = b'[{"name": "tracedrop-tests"}]'

    assert inflated(gzip.compress(body), "gzip", limit=ANSWER_BYTES) == body
    assert inflated(body, None, limit=ANSWER_BYTES) == body
    assert inflated(gzip.compress(body * 1000), "gzip", limit=100) == (body * 1000)[:100]
    assert inflated(body, "gzip", limit=ANSWER_BYTES) is None and inflated(body, "br", limit=ANSWER_BYTES) is None


def test_an_s3_error_answered_gzip_is_read_for_its_code_and_message() -> None:
    xml = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"

    error = s3_error(S3Answer(403, {"content-encoding": "gzip"}, gzip.compress(xml)), key="t/1.json")

    assert error.code == "access_denied" and "AccessDenied: Access Denied" in error.message, error.message
