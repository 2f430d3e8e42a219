"""Batch files: encoding (decoded here with cbor2, zstandard, gzip and json directly) and reading them back."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import cbor2
import orjson
import pytest
import zstandard

from tests.batchfiles import decode_cbor_zstd
from worker.batch.files import encode, file_stem
from worker.batch.record import build_record
from worker.reader import items, json_lines

RECORDS = [
    build_record(i, {"id": f"gen-{i}", "timestamp": 1705312800000 + i, "model": "m", "usage": {"prompt_tokens": i},
                     "request": {"messages": [{"role": "user", "content": f"q{i}"}], "blob": "é" * i}},
                 privacy_mode=False)
    for i in range(1, 6)
]


def test_cbor_zstd_is_a_zstd_compressed_cbor_sequence_of_the_records() -> None:
    data = encode(RECORDS, "cbor.zstd")

    assert data.startswith(b"\x28\xb5\x2f\xfd")
    assert decode_cbor_zstd(data) == RECORDS
    assert isinstance(decode_cbor_zstd(data)[0]["timestamp"], datetime)


def test_jsonl_gz_is_gzip_json_lines_of_the_same_records() -> None:
    data = encode(RECORDS, "jsonl.gz")

    lines = gzip.decompress(data).decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {**record, "timestamp": f"2024-01-15T10:00:00.00{record['id']}Z"} for record in RECORDS
    ]


@pytest.mark.parametrize("fmt", ["cbor.zstd", "jsonl.gz"])
def test_the_same_records_always_give_the_same_bytes(fmt: str) -> None:
    assert encode(RECORDS, fmt) == encode([dict(r) for r in RECORDS], fmt)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown batch format 'csv'"):
        encode(RECORDS, "csv")


def test_file_stem_is_the_rendered_path_and_the_export_second() -> None:
    assert file_stem("prod/2026-11-22", 1795000000) == "prod/2026-11-22/ts-tracedrop-export-1795000000"
    assert file_stem("", 1795000000) == "ts-tracedrop-export-1795000000"


def test_both_formats_read_back_as_the_same_json_lines() -> None:
    from_cbor = list(json_lines(encode(RECORDS, "cbor.zstd")))
    from_jsonl = list(json_lines(encode(RECORDS, "jsonl.gz")))

    assert from_cbor == from_jsonl
    assert orjson.loads(from_cbor[0])["timestamp"] == "2024-01-15T10:00:00.001Z"
    assert len(from_cbor) == len(RECORDS)


def test_a_per_trace_object_reads_as_one_line() -> None:
    document = {"id": "gen-1", "observations": [{"id": "gen-1"}]}

    assert list(json_lines(orjson.dumps(document, option=orjson.OPT_INDENT_2))) == [orjson.dumps(document)]


def test_several_zstd_frames_and_foreign_cbor_values_are_read() -> None:
    first = zstandard.ZstdCompressor().compress(cbor2.dumps({"a": b"\x00\x01"}))
    chunked = zstandard.ZstdCompressor(write_content_size=False)
    second = chunked.compress(cbor2.dumps({"t": datetime(2024, 1, 15, tzinfo=UTC), "s": cbor2.CBORTag(999, 1)}))

    lines = [orjson.loads(line) for line in json_lines(first + second)]

    assert lines == [{"a": "AAE="}, {"t": "2024-01-15T00:00:00.000Z", "s": {"tag": 999, "value": 1}}]


@pytest.mark.parametrize("data", [b"\x28\xb5\x2f\xfd garbage", b"\x1f\x8b\x08 garbage", b"{not json",
                                  zstandard.ZstdCompressor().compress(cbor2.dumps({"a": 1})[:-1])])
def test_a_damaged_file_is_named_as_such(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a tracedrop file or damaged"):
        list(items(data))
