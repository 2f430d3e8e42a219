"""The table a PostgreSQL destination writes: the Parquet batch files' columns (worker/batch/parquet.py) in
PostgreSQL types, ``capture_id`` the primary key; its DDL, and the check of a table that exists. SQL text only:
names are validated identifiers, always quoted (``psycopg.sql.Identifier``)."""

from __future__ import annotations

import pyarrow as pa
from psycopg import sql

from worker.batch.parquet import COLUMNS
from worker.kinds.postgres.config import TableName

KEY = "capture_id"
JSONB = "jsonb"


def _type(arrow: pa.DataType) -> str:
    if pa.types.is_int64(arrow):
        return "bigint"
    if pa.types.is_float64(arrow):
        return "double precision"
    if pa.types.is_timestamp(arrow):
        return "timestamp with time zone"
    if pa.types.is_string(arrow):
        return "text"
    return JSONB  # identity, a struct


TYPES: dict[str, str] = {column.name: JSONB if column.json else _type(column.type) for column in COLUMNS}
"""Every column the destination writes, in the Parquet files' order, and its type (as ``format_type`` names it)."""
ALSO_ACCEPTED = {"text": {"character varying"}, JSONB: {"json"}}
"""Types an existing table may have instead: varchar for text, json (which keeps ``\\u0000``) for jsonb."""
INDEXED = (("timestamp",), ("model", "timestamp"), ("api_key_name", "timestamp"))
"""The indexes a created table gets: by time, by model and time, by API key and time."""



def qualified(table: TableName) -> sql.Identifier:
    return sql.Identifier(table.schema, table.name)


def _columns() -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                              for name, kind in TYPES.items())


def names() -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, TYPES))


def create(table: TableName) -> list[sql.Composed]:
    """The schema, the table with ``capture_id`` as primary key, and its indexes, each if missing."""
    target = qualified(table)
    statements: list[sql.Composed] = [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(table.schema)),
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}))").format(target, _columns(),
                                                                             sql.Identifier(KEY)),
    ]
    for columns in INDEXED:
        index = sql.Identifier(f"{table.name[:30]}_{'_'.join(columns)}_idx")
        statements.append(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
            index, target, sql.SQL(", ").join(map(sql.Identifier, columns))))
    return statements


def copy(table: TableName) -> sql.Composed:
    """A batch's rows, as COPY's text data in ``TYPES``' order."""
    return sql.SQL("COPY {} ({}) FROM STDIN").format(qualified(table), names())


def insert(table: TableName) -> sql.Composed:
    """Rows given as one JSON array of objects (``%(rows)s``), each read into the table's own row type (so a value
    meets the column's type as the table has it now), inserted unless its ``capture_id`` is there already."""
    target = qualified(table)
    return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM json_populate_recordset(NULL::{}, %(rows)s::json) "
                   "ON CONFLICT ({}) DO NOTHING").format(target, names(), names(), target, sql.Identifier(KEY))


DESCRIBE = sql.SQL(
    "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
    "WHERE a.attrelid = to_regclass(%(table)s) AND a.attnum > 0 AND NOT a.attisdropped")
"""The columns of the table (``%(table)s``: its quoted, qualified name) and their types."""
UNIQUE_KEY = sql.SQL(
    "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
    "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(%(table)s) AND i.indisunique "
    "AND i.indnkeyatts = 1 AND i.indpred IS NULL AND a.attname = %(key)s)")
"""Whether ``capture_id`` alone has a unique index (a primary key is one), as ON CONFLICT needs."""


def mismatches(found: dict[str, str], *, unique_key: bool) -> list[str]:
    """What keeps a table with ``found`` columns (name to type) from taking the rows: each missing column, each
    of another type, and a ``capture_id`` that is not unique."""
    problems = []
    for name, wanted in TYPES.items():
        has = found.get(name)
        if has is None:
            problems.append(f"{name} is missing ({wanted})")
        elif has != wanted and has not in ALSO_ACCEPTED.get(wanted, ()):
            problems.append(f"{name} is {has}, not {wanted}")
    if KEY in found and not unique_key:
        problems.append(f"{KEY} is neither the primary key nor alone in a unique index")
    return problems
