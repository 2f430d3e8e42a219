"""An answer as a message shows it: at most EXCERPT_BYTES of its text, never raw bytes. Pure.

The clients read answers as they came (``auto_decompress=False``) and only the first ANSWER_BYTES of them, so a body
here may be compressed and cut short. It is inflated as its ``Content-Encoding`` says (gzip, deflate), as far as it
goes, then decoded in its ``Content-Type`` charset (UTF-8 when none is named). What is not text (an image, protobuf,
an encoding tracedrop does not inflate, a stream that will not inflate) is described instead: ``binary, 61 bytes``.
``inflated`` is the first step alone, for a caller that reads what an answer says (a vendor's JSON).
"""

from __future__ import annotations

import codecs
import contextlib
import zlib
from email.message import Message

from worker.egress import EXCERPT_BYTES

_INFLATE = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
"""zlib's window bits for each encoding: gzip's header, or zlib's (deflate, as HTTP means it)."""
_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/javascript", "application/ecmascript",
                         "application/x-www-form-urlencoded", "application/x-ndjson", "application/problem+json"})
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D}


def excerpt(data: bytes | str, *, content_type: str | None = None, content_encoding: str | None = None) -> str:
    """At most EXCERPT_BYTES of an answer (or a header, a field of an error), as trimmed text; a body that is not
    text is described (``binary, 61 bytes``; ``gzip, 61 bytes that do not inflate``)."""
    if isinstance(data, str):
        return _decoded(data.encode()[:EXCERPT_BYTES], "utf-8").strip()
    if not data:
        return ""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("identity", *_INFLATE):
        return f"{encoding}-encoded, {len(data)} bytes"
    raw = inflated(data, encoding, limit=EXCERPT_BYTES + 1)
    if raw is None:
        return f"{encoding}, {len(data)} bytes that do not inflate"
    media, charset = _media_type(content_type)
    text = _text(raw[:EXCERPT_BYTES], media, charset)
    if text is None:
        kind = ", ".join(part for part in (media, "" if encoding == "identity" else encoding) if part)
        return f"binary ({kind}), {len(data)} bytes" if kind else f"binary, {len(data)} bytes"
    return text.strip()


def inflated(data: bytes, content_encoding: str | None, *, limit: int) -> bytes | None:
    """The start of a body as its ``Content-Encoding`` says (gzip, deflate, or none), ``limit`` bytes at most: a body
    cut short inflates as far as it goes. None for an encoding tracedrop does not inflate, or a stream that does not
    inflate at all. HTTP's deflate is zlib's format; some servers send it raw."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return data[:limit]
    if encoding not in _INFLATE:
        return None
    for bits in (_INFLATE[encoding], -zlib.MAX_WBITS) if encoding == "deflate" else (_INFLATE[encoding],):
        try:
            return zlib.decompressobj(bits).decompress(data, limit)
        except zlib.error:
            continue
    return None


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    """The answer's media type (lowercase, ``""`` when not given) and the charset it names."""
    if not content_type:
        return "", None
    header = Message()
    header["content-type"] = content_type
    charset = header.get_param("charset")
    return header.get_content_type(), charset if isinstance(charset, str) else None


def _text(raw: bytes, media: str, charset: str | None) -> str | None:
    """``raw`` decoded, or None when it is not text: a media type that is not textual, or, with none given, bytes
    that are not UTF-8 or hold control characters."""
    textual = media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml"))
    if media and not textual:
        return None
    codec = "utf-8"  # also for a charset Python does not know: what is not UTF-8 is replaced
    with contextlib.suppress(LookupError):
        codec = codecs.lookup(charset).name if charset else codec
    if not media and (_CONTROL.intersection(raw) or not _utf8(raw)):
        return None
    return _decoded(raw, codec)


def _utf8(raw: bytes) -> bool:
    """Whether ``raw`` is UTF-8, allowing a character cut at its end."""
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(raw, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decoded(raw: bytes, codec: str) -> str:
    """``raw`` in ``codec``, what does not decode replaced; a character cut at the end (the excerpt's cut) dropped."""
    try:
        return str(codecs.getincrementaldecoder(codec)("replace").decode(raw, final=False))
    except UnicodeError:  # a stream the codec refuses whole (UTF-16 without its byte order mark)
        return raw.decode("utf-8", "replace")
