"""Reading a request body: at most ``limit`` bytes on the wire, and at most ``limit`` once inflated.

A gzip or deflate body is inflated in bounded steps (``max_length``), so a small body that would inflate to
gigabytes is refused at the limit without ever being inflated whole.
"""

from __future__ import annotations

import zlib

from fastapi import Request

from api.errors import ApiError

_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_STEP = 1 << 20


async def read_body(request: Request, limit: int) -> bytes:
    """The body as sent, inflated when ``Content-Encoding`` says gzip or deflate; 413 past ``limit``."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", *_WBITS):
        raise ApiError(415, "unsupported_encoding",
                       f"Content-Encoding: {encoding} is not supported; send gzip, deflate or no encoding",
                       field="content-encoding")
    raw = await read_limited(request, limit)
    return inflate(raw, encoding, limit) if encoding in _WBITS else raw


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "request_too_large", f"request body is {declared} bytes; at most {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "request_too_large", f"request body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def inflate(raw: bytes, encoding: str, limit: int) -> bytes:
    """Inflate every member of a gzip/deflate body, stopping as soon as the output passes ``limit``."""
    out: list[bytes] = []
    size = 0
    pending = raw
    while pending:
        inflater = zlib.decompressobj(_WBITS[encoding])
        data = pending
        while not inflater.eof:
            try:
                piece = inflater.decompress(data, min(_STEP, limit + 1 - size))
            except zlib.error as exc:
                raise ApiError(400, "invalid_encoding", f"body is not valid {encoding}: {exc}",
                               field="content-encoding") from None
            size += len(piece)
            if size > limit:
                raise ApiError(413, "request_too_large", f"request body inflates to over {limit} bytes")
            out.append(piece)
            if not piece and not data:
                break
            data = inflater.unconsumed_tail
        if not inflater.eof:
            raise ApiError(400, "invalid_encoding", f"body is a truncated {encoding} stream",
                           field="content-encoding")
        pending = inflater.unused_data if encoding != "deflate" else b""
    return b"".join(out)
