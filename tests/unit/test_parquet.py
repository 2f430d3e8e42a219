"""Parquet batch files: read back with pyarrow directly, as a user would; the schema is the same in every file."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.unit.test_record import FULL, stored
from worker.batch.files import CONTENT_TYPES, encode
from worker.batch.parquet import SCHEMA
from worker.batch.record import build_record
from worker.reader import items, json_lines

DOCS = Path(__file__).parents[2] / "docs" / "batch-files.md"
FULL_RECORD = build_record(7, stored(**FULL), privacy_mode=False)
SPARSE_RECORD = build_record(8, stored(id="gen-2", timestamp=1705312800, model="m"), privacy_mode=False)


def table(data: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(data))


def test_a_file_has_one_typed_row_per_record() -> None:
    data = encode([FULL_RECORD], "parquet")

    [row] = table(data).to_pylist()
    assert row == {
        "id": 7, "capture_id": "gen-1705312800-abc123",
        "timestamp": datetime(2024, 1, 15, 10, 0, 0, 250000, tzinfo=UTC), "model": "openai/gpt-4o",
        "provider": "OpenAI", "api_type": "oai_completions", "api_key_name": "prod backend", "user": "user-42",
        "session_id": "sess-9", "path": "/v1/chat/completions", "status_code": 200, "finish_reason": "stop",
        "level": None, "status_message": None, "duration_ms": 1834, "time_to_first_token_ms": 312,
        "input_tokens": 12, "output_tokens": 40, "cached_tokens": 3, "cache_write_tokens": 1,
        "reasoning_tokens": 5, "total_tokens": 52, "cost_input": 0.00003, "cost_output": 0.0004,
        "cost_total": 0.00043,
        "identity": {"login_name": "alice@example.com", "node_id": "nXYZ", "tags": ["tag:prod"]},
        "metadata": '{"trace_name":"support-bot","env":"prod"}',
        "request": orjson.dumps(FULL["request"]).decode(), "response": orjson.dumps(FULL["response"]).decode(),
        "request_headers": '{"content-type":"application/json"}', "response_headers": '{"x-request-id":"r-1"}',
    }
    assert str(table(data).schema.field("timestamp").type) == "timestamp[ms, tz=UTC]"
    assert data.startswith(b"PAR1") and CONTENT_TYPES["parquet"] == "application/vnd.apache.parquet"


def test_every_column_chunk_is_zstd_compressed_in_one_row_group() -> None:
    metadata = pq.read_metadata(pa.BufferReader(encode([FULL_RECORD, SPARSE_RECORD] * 50, "parquet")))

    assert metadata.num_row_groups == 1 and metadata.num_rows == 100
    group = metadata.row_group(0)
    assert {group.column(i).compression for i in range(group.num_columns)} == {"ZSTD"}


def test_a_value_the_trace_lacks_is_a_null_and_the_schema_never_changes() -> None:
    sparse = table(encode([SPARSE_RECORD], "parquet"))
    full = table(encode([FULL_RECORD], "parquet"))

    assert sparse.schema == full.schema == SCHEMA
    [row] = sparse.to_pylist()
    present = {"id": 8, "capture_id": "gen-2", "timestamp": datetime(2024, 1, 15, 10, tzinfo=UTC), "model": "m"}
    assert row == {name: present.get(name) for name in SCHEMA.names}


def test_privacy_mode_leaves_the_content_columns_null_and_keeps_the_rest() -> None:
    private = build_record(7, stored(**FULL), privacy_mode=True)

    [row] = table(encode([private], "parquet")).to_pylist()
    assert row["request"] is None and row["response"] is None
    assert row["request_headers"] == '{"content-type":"application/json"}'
    assert (row["model"], row["input_tokens"], row["cost_total"]) == ("openai/gpt-4o", 12, 0.00043)
    assert row["metadata"] == '{"trace_name":"support-bot","env":"prod"}'


def test_the_same_records_give_the_same_bytes_in_another_process() -> None:
    records = [FULL_RECORD, SPARSE_RECORD] * 20
    here = encode(records, "parquet")
    script = ("import sys; from tests.unit.test_parquet import FULL_RECORD, SPARSE_RECORD; "
              "from worker.batch.files import encode; "
              "sys.stdout.buffer.write(encode([FULL_RECORD, SPARSE_RECORD] * 20, 'parquet'))")

    there = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True,
                           cwd=Path(__file__).parents[2]).stdout

    assert here == there == encode([dict(r) for r in records], "parquet")


def test_tracedrop_read_prints_rows_with_json_columns_as_json() -> None:
    [line] = list(json_lines(encode([FULL_RECORD], "parquet")))

    printed = orjson.loads(line)
    assert printed["timestamp"] == "2024-01-15T10:00:00.250Z"
    assert printed["request"] == FULL["request"] and printed["metadata"] == {"trace_name": "support-bot", "env": "prod"}
    assert printed["identity"]["tags"] == ["tag:prod"] and printed["cost_total"] == 0.00043
    assert list(printed) == SCHEMA.names


def test_a_damaged_parquet_file_is_named_as_such() -> None:
    with pytest.raises(ValueError, match="not a tracedrop file or damaged"):
        list(items(encode([FULL_RECORD], "parquet")[:-100]))


def test_the_docs_list_every_column_with_its_type_in_order() -> None:
    section = DOCS.read_text().split("## Parquet columns", 1)[1]
    documented = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", section, flags=re.MULTILINE)

    assert documented == [(field.name, str(field.type)) for field in SCHEMA]


def test_the_docs_athena_table_has_every_column_with_its_type_in_order() -> None:
    readme = (Path(__file__).parents[2] / "docs" / "lake.md").read_text()
    ddl = readme.split("CREATE EXTERNAL TABLE llm_traces (", 1)[1].split(")\nPARTITIONED BY", 1)[0]
    columns = re.findall(r"`?(\w+)`? (struct<[^>]*>>|\w+)", ddl)
    athena = {"int64": "bigint", "string": "string", "double": "double", "timestamp[ms, tz=UTC]": "timestamp",
              str(SCHEMA.field("identity").type): "struct<login_name:string,node_id:string,tags:array<string>>"}

    assert columns == [(field.name, athena[str(field.type)]) for field in SCHEMA]
