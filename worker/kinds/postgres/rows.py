"""A stored trace as the row a PostgreSQL destination writes: the Parquet file's row (worker/batch/parquet.py) of its
batch record, in the table's column order (``table.TYPES``), JSON columns as JSON text. Pure."""

from __future__ import annotations

from typing import Any

import orjson

from worker.batch.parquet import COLUMNS
from worker.batch.record import build_record

Row = tuple[Any, ...]
_VALUES = tuple(column.value for column in COLUMNS)
_STRUCTS = tuple(i for i, column in enumerate(COLUMNS) if column.name == "identity")
"""Where a row holds a struct (identity): written as JSON text."""
_JSON = tuple(column.json or i in _STRUCTS for i, column in enumerate(COLUMNS))
"""Which of a row's values are JSON text."""


def row(trace_id: int, body: bytes, *, privacy_mode: bool) -> Row:
    """The row of one stored trace: ``id`` is tracedrop's sequence number, ``capture_id`` the trace's id; privacy
    mode leaves ``request`` and ``response`` null."""
    record = build_record(trace_id, orjson.loads(body), privacy_mode=privacy_mode)
    values = [value(record) for value in _VALUES]
    for i in _STRUCTS:
        if values[i] is not None:
            values[i] = orjson.dumps(values[i]).decode()
    return tuple(values)


def document(rows: list[Row]) -> str:
    """Rows as one JSON array of objects (``table.insert`` reads it), JSON columns as the JSON they hold."""
    return orjson.dumps([{column.name: orjson.Fragment(value) if is_json and value is not None else value
                          for column, value, is_json in zip(COLUMNS, found, _JSON, strict=True)}
                         for found in rows]).decode()
