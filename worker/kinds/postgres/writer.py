"""Delivery to a PostgreSQL destination: a claimed batch rendered into rows (pure) and written by one ``COPY`` in
one transaction on a pooled connection. A batch that meets a row already there (its ``capture_id`` taken: a batch
written again after a crash or a retry) is inserted instead by one ``INSERT ... ON CONFLICT (capture_id) DO
NOTHING``, so no trace is ever written twice and the common case runs at COPY's speed.

A batch the table refuses for a value (``errors.ROW_CLASSES``) is split in halves until the refused rows stand
alone: each goes to dead letters with the database's message, the rest lands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


def insert(connection: psycopg.Connection[Any], table: TableName, rows: Iterable[Row]) -> None:
    """Write ``rows`` in one transaction: COPY, or where a ``capture_id`` is taken, the rows not there yet."""
    given, written = iter(rows), []
    try:
        with connection.transaction(), connection.cursor().copy(tables.copy(table)) as copy:
            for found in given:
                written.append(found)
                copy.write_row(found)
    except psycopg.errors.UniqueViolation:
        skip_present(connection, table, [*written, *given])


def skip_present(connection: psycopg.Connection[Any], table: TableName, rows: list[Row]) -> None:
    """Insert the rows whose ``capture_id`` is not in the table yet, in one transaction."""
    with connection.transaction():
        connection.execute(tables.insert(table), {"rows": document(rows)})


class Rendering:
    """A claimed batch's rows, rendered one by one as the first COPY sends them (so the server reads while the next
    rows render); a trace that cannot be rendered is rejected into the verdict."""

    def __init__(self, claimed: list[Claimed], *, privacy_mode: bool, verdict: Verdict) -> None:
        self.batch: Batch = []
        self._left = iter(claimed)
        self._privacy_mode = privacy_mode
        self._verdict = verdict

    def rows(self) -> Iterator[Row]:
        for item in self._left:
            try:
                found = row(item.trace_id, item.body, privacy_mode=self._privacy_mode)
            except Exception as exc:
                self._verdict.add([item.trace_id], TraceRejected(f"trace cannot be rendered: {exc}",
                                                                 code="unrenderable"))
                continue
            self.batch.append((item.trace_id, found))
            yield found

    def finish(self) -> Batch:
        """Every row, the ones the first attempt did not take rendered now."""
        for _ in self.rows():
            pass
        return self.batch


def attempt(connection: psycopg.Connection[Any], destination: PostgresDestination,
            rows: Iterable[Row]) -> DeliveryError | None:
    try:
        insert(connection, destination.table_name, rows)
    except Exception as exc:
        return from_statement(exc, table=destination.table, user=destination.user)
    return None


def write(connection: psycopg.Connection[Any], destination: PostgresDestination, rendering: Rendering,
          verdict: Verdict) -> None:
    """Insert the batch, splitting it around refused rows; stop at the first failure that is not a row's."""
    failure = attempt(connection, destination, rendering.rows())
    pending: list[tuple[Batch, DeliveryError | None, bool]] = [(rendering.finish(), failure, True)]
    while pending:
        part, error, tried = pending.pop()
        if not tried:
            error = attempt(connection, destination, [found for _, found in part])
        if isinstance(error, RowRefused) and len(part) > 1:
            pending += [(part[len(part) // 2:], None, False), (part[:len(part) // 2], None, False)]
            continue
        verdict.add([trace_id for trace_id, _ in part], error)
        if error is not None and not isinstance(error, TraceRejected):
            verdict.add([trace_id for left, _, _ in pending for trace_id, _ in left], error)
            return


class PostgresWriter:
    """Writes claimed traces of PostgreSQL destinations, on a small pool of connections per destination."""

    def __init__(self, *, allow_private: bool) -> None:
        self.pools = Pools(allow_private=allow_private)

    def claim_limit(self, destination: Destination) -> int:
        return TRACES_PER_CLAIM

    def deliver(self, destination: Destination, claimed: list[Claimed]) -> Verdict:
        assert isinstance(destination, PostgresDestination)
        verdict = Verdict()
        rendering = Rendering(claimed, privacy_mode=destination.privacy_mode, verdict=verdict)
        try:
            with self.pools.get(destination.id, destination).connection() as connection:
                write(connection, destination, rendering, verdict)
        except DeliveryError as exc:  # no connection: refused by the fence, or the server's refusal
            verdict.add([trace_id for trace_id, _ in rendering.finish()], exc)
        return verdict
