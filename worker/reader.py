"""``tracedrop read``: any file tracedrop writes, as JSON lines.

The format is recognised from the bytes: a zstd frame holds a CBOR sequence (``.cbor.zstd``), a gzip stream holds
JSON lines (``.jsonl.gz``), ``PAR1`` opens a Parquet file (one line per row), anything else is read as one
per-trace JSON object. CBOR and Parquet dates print as RFC 3339 with milliseconds, exactly as the JSON lines format
writes them, so the CBOR and JSON lines files of one batch print the same lines.
"""

from __future__ import annotations

import base64
import gzip
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import cbor2
import orjson
import zstandard
from pyarrow.lib import ArrowException

from worker.batch import parquet
from worker.document import iso_ms

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"


def items(data: bytes) -> Iterator[Any]:
    """Every record of an export file, or the one per-trace object."""
    try:
        if data.startswith(ZSTD_MAGIC):
            yield from _cbor_sequence(_unzstd(data))
        elif data.startswith(parquet.MAGIC):
            yield from parquet.rows(data)
        elif data.startswith(GZIP_MAGIC):
            for line in gzip.decompress(data).splitlines():
                if line.strip():
                    yield orjson.loads(line)
        else:
            yield orjson.loads(data)
    except (cbor2.CBORError, zstandard.ZstdError, gzip.BadGzipFile, EOFError, orjson.JSONDecodeError,
            ArrowException) as exc:
        raise ValueError(f"not a tracedrop file or damaged: {exc}") from exc


def json_lines(data: bytes) -> Iterator[bytes]:
    for item in items(data):
        yield orjson.dumps(item, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _unzstd(data: bytes) -> bytes:
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    with reader:
        return reader.read()


def _cbor_sequence(data: bytes) -> Iterator[Any]:
    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(stream)
    while stream.tell() < len(data):
        yield decoder.decode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_ms(round(value.timestamp() * 1000))
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": value.value}
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")
