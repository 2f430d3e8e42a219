"""Delivery to a PostgreSQL destination: a claimed batch rendered into rows (pure) and written by one ``COPY`` in
one transaction on a pooled connection. A batch that meets a row already there (its ``capture_id`` taken: a batch
written again after a crash or a retry) is inserted instead by one ``INSERT ... ON CONFLICT (capture_id) DO
NOTHING``, so no trace is ever written twice and the common case runs at COPY's speed.

A batch the table refuses for a value (``errors.ROW_CLASSES``) is split in halves until the refused rows stand
alone: each goes to dead letters with the database's message, the rest lands.
"""

from __future__ import annotations

from typing import Any

import psycopg

from worker.destination import Destination
from worker.errors import DeliveryError, TraceRejected
from worker.kinds.postgres import table as tables
from worker.kinds.postgres.client import Pools
from worker.kinds.postgres.config import PostgresDestination, TableName
from worker.kinds.postgres.errors import RowRefused, from_statement
from worker.kinds.postgres.rows import Row, document, row
from worker.outbox import Claimed
from worker.verdict import Verdict

TRACES_PER_CLAIM = 256
"""Traces claimed, and inserted by one statement, at once."""

Batch = list[tuple[int, Row]]


def insert(connection: psycopg.Connection[Any], table: TableName, rows: list[Row]) -> None:
    """Write ``rows`` in one transaction: COPY, or where a ``capture_id`` is taken, the rows not there yet."""
    try:
        with connection.transaction(), connection.cursor().copy(tables.copy(table)) as copy:
            for found in rows:
                copy.write_row(found)
    except psycopg.errors.UniqueViolation:
        skip_present(connection, table, rows)


def skip_present(connection: psycopg.Connection[Any], table: TableName, rows: list[Row]) -> None:
    """Insert the rows whose ``capture_id`` is not in the table yet, in one transaction."""
    with connection.transaction():
        connection.execute(tables.insert(table), {"rows": document(rows)})


def write(connection: psycopg.Connection[Any], destination: PostgresDestination, batch: Batch,
          verdict: Verdict) -> None:
    """Insert ``batch``, splitting it around refused rows; stop at the first failure that is not a row's."""
    pending = [batch]
    while pending:
        part = pending.pop()
        try:
            insert(connection, destination.table_name, [found for _, found in part])
        except Exception as exc:
            error = from_statement(exc, table=destination.table, user=destination.user)
            if isinstance(error, RowRefused) and len(part) > 1:
                pending += [part[len(part) // 2:], part[:len(part) // 2]]
                continue
            verdict.add([trace_id for trace_id, _ in part], error)
            if not isinstance(error, TraceRejected):
                verdict.add([trace_id for left in pending for trace_id, _ in left], error)
                return
            continue
        verdict.add([trace_id for trace_id, _ in part], None)


class PostgresWriter:
    """Writes claimed traces of PostgreSQL destinations, on a small pool of connections per destination."""

    def __init__(self, *, allow_private: bool) -> None:
        self.pools = Pools(allow_private=allow_private)

    def claim_limit(self, destination: Destination) -> int:
        return TRACES_PER_CLAIM

    def deliver(self, destination: Destination, claimed: list[Claimed]) -> Verdict:
        assert isinstance(destination, PostgresDestination)
        verdict = Verdict()
        batch: Batch = []
        for item in claimed:
            try:
                batch.append((item.trace_id, row(item.trace_id, item.body, privacy_mode=destination.privacy_mode)))
            except Exception as exc:
                verdict.add([item.trace_id], TraceRejected(f"trace cannot be rendered: {exc}", code="unrenderable"))
        if not batch:
            return verdict
        try:
            with self.pools.get(destination.id, destination).connection() as connection:
                write(connection, destination, batch, verdict)
        except DeliveryError as exc:  # no connection: refused by the fence, or the server's refusal
            verdict.add([trace_id for trace_id, _ in batch], exc)
        return verdict
