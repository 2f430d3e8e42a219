"""Decoding batch files the way a user would, with cbor2, zstandard, gzip and json directly (no tracedrop code)."""

from __future__ import annotations

import gzip
import io
import json
import re
from typing import Any

import cbor2
import zstandard

KEY = re.compile(r"^(?P<path>.*/)?ts-tracedrop-export-(?P<seconds>\d+)(?:-(?P<n>\d+))?\.(?P<fmt>cbor\.zstd|jsonl\.gz)$")


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


def decode(key: str, data: bytes) -> list[dict[str, Any]]:
    """The records of one exported file, by its extension."""
    if key.endswith(".cbor.zstd"):
        return decode_cbor_zstd(data)
    if key.endswith(".jsonl.gz"):
        return decode_jsonl_gz(data)
    raise AssertionError(f"not a batch file: {key}")


def records_by_file(objects: dict[str, bytes]) -> dict[str, list[dict[str, Any]]]:
    """Every batch file of a bucket listing (other objects are ignored), decoded."""
    return {key: decode(key, data) for key, data in objects.items() if KEY.match(key)}
