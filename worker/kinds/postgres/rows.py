"""A stored trace as the row a PostgreSQL destination inserts: the Parquet file's row (worker/batch/parquet.py) of
its batch record, with the JSON columns kept as JSON rather than strings. Pure."""

from __future__ import annotations

from typing import Any

import orjson

from worker.batch.parquet import COLUMNS
from worker.batch.record import build_record

_JSON = frozenset(column.name for column in COLUMNS if column.json)


def row(trace_id: int, body: bytes, *, privacy_mode: bool) -> dict[str, Any]:
    """The row of one stored trace: ``id`` is tracedrop's sequence number, ``capture_id`` the trace's id; privacy
    mode leaves ``request`` and ``response`` null."""
    record = build_record(trace_id, orjson.loads(body), privacy_mode=privacy_mode)
    found = {}
    for column in COLUMNS:
        value = column.value(record)
        found[column.name] = orjson.Fragment(value) if column.name in _JSON and value is not None else value
    return found


def document(rows: list[dict[str, Any]]) -> str:
    """Rows as the one JSON array the insert reads (``table.insert``)."""
    return orjson.dumps(rows).decode()
