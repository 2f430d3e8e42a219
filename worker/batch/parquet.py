"""Parquet batch files: the one schema, the row of a batch record, writing and reading a file. Pure.

One row per trace. What people filter and sum on is a flat, typed column; identity, whose shape is fixed, is a
struct; the parts whose shape is the gateway's or the user's (custom metadata, request and response bodies,
headers) are JSON strings, so every file of every destination has exactly this schema (docs/batch-files.md:
Parquet columns). A value the trace did not carry is a null.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

MAGIC = b"PAR1"
ZSTD_LEVEL = 3
IDENTITY = pa.struct([("login_name", pa.string()), ("node_id", pa.string()), ("tags", pa.list_(pa.string()))])


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    value: Callable[[dict[str, Any]], Any]
    json: bool = False
    """Written as a JSON string (read back as the JSON it holds)."""


def _at(*path: str) -> Callable[[dict[str, Any]], Any]:
    if len(path) == 1:  # the common cases without a loop: a row is 31 of these per trace
        return operator.methodcaller("get", path[0])
    if len(path) == 2:
        first, second = path

        def pair(record: dict[str, Any]) -> Any:
            found = record.get(first)
            return found.get(second) if isinstance(found, dict) else None

        return pair

    def value(record: dict[str, Any]) -> Any:
        found: Any = record
        for step in path:
            found = found.get(step) if isinstance(found, dict) else None
        return found

    return value


def _json(*path: str) -> Callable[[dict[str, Any]], Any]:
    at = _at(*path)

    def value(record: dict[str, Any]) -> Any:
        found = at(record)
        return None if found in (None, {}) else orjson.dumps(found).decode()

    return value


COLUMNS = (
    Column("id", pa.int64(), _at("id")),
    Column("capture_id", pa.string(), _at("capture_id")),
    Column("timestamp", pa.timestamp("ms", tz="UTC"), _at("timestamp")),
    Column("model", pa.string(), _at("model")),
    Column("provider", pa.string(), _at("tracedrop", "provider")),
    Column("api_type", pa.string(), _at("api_type")),
    Column("api_key_name", pa.string(), _at("tracedrop", "api_key_name")),
    Column("user", pa.string(), _at("tracedrop", "user")),
    Column("session_id", pa.string(), _at("session_id")),
    Column("path", pa.string(), _at("path")),
    Column("status_code", pa.int64(), _at("status_code")),
    Column("finish_reason", pa.string(), _at("tracedrop", "finish_reason")),
    Column("level", pa.string(), _at("tracedrop", "level")),
    Column("status_message", pa.string(), _at("tracedrop", "status_message")),
    Column("duration_ms", pa.int64(), _at("duration_ms")),
    Column("time_to_first_token_ms", pa.int64(), _at("tracedrop", "time_to_first_token_ms")),
    Column("input_tokens", pa.int64(), _at("usage", "input")),
    Column("output_tokens", pa.int64(), _at("usage", "output")),
    Column("cached_tokens", pa.int64(), _at("usage", "cached")),
    Column("cache_write_tokens", pa.int64(), _at("tracedrop", "cache_write_tokens")),
    Column("reasoning_tokens", pa.int64(), _at("usage", "reasoning")),
    Column("total_tokens", pa.int64(), _at("tracedrop", "total_tokens")),
    Column("cost_input", pa.float64(), _at("estimated_cost", "input")),
    Column("cost_output", pa.float64(), _at("estimated_cost", "output")),
    Column("cost_total", pa.float64(), _at("estimated_cost", "total")),
    Column("identity", IDENTITY, lambda record: record.get("identity") or None),
    Column("metadata", pa.string(), _json("tracedrop", "trace"), json=True),
    Column("request", pa.string(), _json("capture", "request", "body"), json=True),
    Column("response", pa.string(), _json("capture", "response", "body"), json=True),
    Column("request_headers", pa.string(), _json("capture", "request", "headers"), json=True),
    Column("response_headers", pa.string(), _json("capture", "response", "headers"), json=True),
)
SCHEMA = pa.schema([pa.field(column.name, column.type) for column in COLUMNS])
_JSON_COLUMNS = frozenset(column.name for column in COLUMNS if column.json)


def row(record: dict[str, Any]) -> dict[str, Any]:
    """The row of one batch record (worker/batch/record.py)."""
    return {column.name: column.value(record) for column in COLUMNS}


def encode(records: Iterable[dict[str, Any]]) -> bytes:
    """A whole file, zstd-compressed, one row group. pyarrow writes the same bytes for the same rows (its
    ``created_by`` names the pyarrow version, so the same version must write a retried file)."""
    table = pa.Table.from_pylist([row(record) for record in records], schema=SCHEMA)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", compression_level=ZSTD_LEVEL)
    return bytes(sink.getvalue().to_pybytes())


def rows(data: bytes) -> Iterator[dict[str, Any]]:
    """Every row of a Parquet file, JSON-string columns as the JSON they hold."""
    for found in pq.read_table(pa.BufferReader(data)).to_pylist():
        yield {name: orjson.loads(value) if name in _JSON_COLUMNS and value is not None else value
               for name, value in found.items()}
