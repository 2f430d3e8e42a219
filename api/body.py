"""Reading a request body: at most ``limit`` bytes on the wire, and at most ``limit`` once inflated.

A gzip or deflate body is inflated off the event loop, in time linear in its size: output in bounded steps
(``max_length``), so a small body that would inflate to gigabytes is refused at the limit without ever being
inflated whole; input fed in slices that double within a member, so a body of many small gzip members never has
its remainder copied once per member; and at most ``MAX_GZIP_MEMBERS`` members.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from starlette.types import Receive

from api.errors import ApiError
from api.ingest import in_thread

MAX_GZIP_MEMBERS = 1000
"""Gzip members (streams written one after the other) in one body; one is what gateways send."""

_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_STEP = 1 << 20
"""Most output bytes one inflate call may produce."""
_FIRST_SLICE, _LAST_SLICE = 1 << 14, 1 << 20
"""Input fed to a member's inflater: a first slice, doubling up to the last size. zlib copies what a member leaves
unread (``unused_data``, ``unconsumed_tail``), so a member costs at most twice its own length or the first slice."""


async def read_body(headers: Mapping[str, str], receive: Receive, limit: int) -> bytes:
    """The body as sent, inflated when ``Content-Encoding`` says gzip or deflate; 413 past ``limit``. ``headers``
    by lower-case name."""
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", *_WBITS):
        raise ApiError(415, "unsupported_encoding",
                       f"Content-Encoding: {encoding} is not supported; send gzip, deflate or no encoding",
                       field="content-encoding")
    raw = await read_limited(headers, receive, limit)
    return await in_thread(lambda: inflate(raw, encoding, limit)) if encoding in _WBITS else raw


async def read_limited(headers: Mapping[str, str], receive: Receive, limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "request_too_large", f"request body is {declared} bytes; at most {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":  # the client left, or the server closed a stalled body
            raise ApiError(400, "client_disconnected", "the connection closed before the body was complete")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "request_too_large", f"request body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def inflate(raw: bytes, encoding: str, limit: int) -> bytes:
    """Inflate every member of a gzip/deflate body, stopping as soon as the output passes ``limit``."""
    out: list[bytes] = []
    size = 0
    view = memoryview(raw)
    start = 0
    members = 0
    while start < len(raw):
        members += 1
        if members > MAX_GZIP_MEMBERS:
            raise ApiError(413, "too_many_members", f"body has over {MAX_GZIP_MEMBERS} {encoding} members")
        inflater = zlib.decompressobj(_WBITS[encoding])
        fed, slice_size = start, _FIRST_SLICE
        while not inflater.eof:
            data: bytes | memoryview = inflater.unconsumed_tail
            if not data and fed < len(raw):
                data = view[fed:fed + slice_size]
                fed += len(data)
                slice_size = min(2 * slice_size, _LAST_SLICE)
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
                raise ApiError(400, "invalid_encoding", f"body is a truncated {encoding} stream",
                               field="content-encoding")
        if encoding == "deflate":
            break
        start = fed - len(inflater.unused_data)
    return b"".join(out)
