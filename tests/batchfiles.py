"""Decoding batch files the way a user would, with cbor2, zstandard, gzip, json and pyarrow directly (no tracedrop
code)."""

from __future__ import annotations

import gzip
import io
import json
import re
from typing import Any

import cbor2
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

KEY = re.compile(r"^(?P<path>.*/)?ts-tracedrop-export-(?P<seconds>\d+)(?:-(?P<n>\d+))?"
                 r"\.(?P<fmt>cbor\.zstd|jsonl\.gz|parquet)$")


def decode_cbor_zstd(data: bytes) -> list[Any]:
    plain = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read()
    stream = io.BytesIO(plain)
    decoder = cbor2.CBORDecoder(stream)
    found = []
    while stream.tell() < len(plain):
        found.append(decoder.decode())
    return found


def decode_jsonl_gz(data: bytes) -> list[Any]:
    return [json.loads(line) for line in gzip.decompress(data).decode().splitlines() if line.strip()]


def decode_parquet(data: bytes) -> list[Any]:
    """The rows, JSON-string columns left as the strings they are."""
    return list(pq.read_table(pa.BufferReader(data)).to_pylist())


def decode(key: str, data: bytes) -> list[dict[str, Any]]:
    """The records of one exported file, by its extension."""
    if key.endswith(".cbor.zstd"):
        return decode_cbor_zstd(data)
    if key.endswith(".jsonl.gz"):
        return decode_jsonl_gz(data)
    if key.endswith(".parquet"):
        return decode_parquet(data)
    raise AssertionError(f"not a batch file: {key}")


def records_by_file(objects: dict[str, bytes]) -> dict[str, list[dict[str, Any]]]:
    """Every batch file of a bucket listing (other objects are ignored), decoded."""
    return {key: decode(key, data) for key, data in objects.items() if KEY.match(key)}
