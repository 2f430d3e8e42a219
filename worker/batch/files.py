"""Batch files: encoding records (zstd CBOR sequence, gzip JSON lines or Parquet) and naming the file. Pure."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, get_args

import cbor2
import orjson
import zstandard

from worker.document import iso_ms

BatchFormat = Literal["cbor.zstd", "jsonl.gz", "parquet"]
FORMATS: tuple[str, ...] = get_args(BatchFormat)
CONTENT_TYPES = {"cbor.zstd": "application/zstd", "jsonl.gz": "application/gzip",
                 "parquet": "application/vnd.apache.parquet"}
ZSTD_LEVEL = 3
GZIP_LEVEL = 6
NAME = "ts-tracedrop-export-"


def encode(records: Iterable[dict[str, Any]], fmt: str) -> bytes:
    """A whole file. The same records always give the same bytes, so a retried export rewrites identical data."""
    if fmt == "cbor.zstd":
        return encode_cbor_zstd(records)
    if fmt == "jsonl.gz":
        return encode_jsonl_gz(records)
    if fmt == "parquet":
        from worker.batch import parquet  # pyarrow costs a process ~64 MB: only those that write Parquet load it

        return parquet.encode(records)
    raise ValueError(f"unknown batch format {fmt!r} (known: {', '.join(FORMATS)})")


def encode_cbor_zstd(records: Iterable[dict[str, Any]]) -> bytes:
    """A CBOR sequence (RFC 8742: items back to back), compressed as one zstd frame."""
    sequence = b"".join(cbor2.dumps(record) for record in records)
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(sequence)


def encode_jsonl_gz(records: Iterable[dict[str, Any]]) -> bytes:
    """One JSON object per line, gzip with a zero mtime (deterministic bytes)."""
    lines = b"".join(orjson.dumps(json_ready(record)) + b"\n" for record in records)
    return gzip.compress(lines, compresslevel=GZIP_LEVEL, mtime=0)


def json_ready(record: dict[str, Any]) -> dict[str, Any]:
    """The record as JSON writes it: ``timestamp`` as RFC 3339 with milliseconds and ``Z``."""
    stamp = record.get("timestamp")
    if isinstance(stamp, datetime):
        return {**record, "timestamp": iso_ms(round(stamp.timestamp() * 1000))}
    return record


def file_stem(path: str, seconds: int) -> str:
    """``<path>/ts-tracedrop-export-<unix seconds>``; the outbox adds ``-<n>`` for a second file in one second."""
    name = f"{NAME}{seconds}"
    return f"{path}/{name}" if path else name


def extension(fmt: str) -> str:
    return f".{fmt}"
