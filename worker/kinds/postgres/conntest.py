"""The PostgreSQL connection test: connect as delivery does, check (or create) the table, then insert a test row
with delivery's own statement and roll it back, so a role that may not insert fails here, not at every trace.

The API runs it before saving a destination and at every connection-changing PATCH; the probe of a parked
destination runs the same test (which creates a dropped table again, with ``create_table``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from worker.errors import DeliveryError, DestinationError, TransientError
from worker.kinds.postgres import table as tables
from worker.kinds.postgres.client import connect
from worker.kinds.postgres.config import PostgresConfig, TableName
from worker.kinds.postgres.errors import RowRefused, from_statement, shown
from worker.kinds.postgres.rows import Row
from worker.kinds.postgres.writer import insert, skip_present

CODES = frozenset(
    {"unauthorized", "not_found", "permission_denied", "table_mismatch", "endpoint_unreachable", "tls_error",
     "timeout", "endpoint_forbidden", "server_unavailable", "database_refused"}
)
"""The codes a PostgreSQL connection test answers with (docs/postgres.md)."""
STATEMENT_TIMEOUT_MS = 4_000
"""Each of the test's statements gives up after this long (the API answers within a bound)."""


def sample_row() -> Row:
    """A row with only id, capture_id, timestamp and model set."""
    given = {"id": 0, "capture_id": f"tracedrop-connection-test-{uuid.uuid4()}", "timestamp": datetime.now(UTC),
             "model": "tracedrop/connection-test"}
    return tuple(given.get(name) for name in tables.TYPES)


def as_test_failure(error: DeliveryError) -> DeliveryError:
    if isinstance(error, RowRefused):
        return DestinationError(f"The table refused a test row with only id, capture_id, timestamp and model set: "
                                f"{error.message.removeprefix('The table refused this row: ')}. Every other column "
                                "must take NULL.", code="table_mismatch")
    if error.code == "connection_lost":
        return TransientError(error.message, code="endpoint_unreachable")
    return error


def _quoted(connection: psycopg.Connection[Any], table: TableName) -> str:
    return tables.qualified(table).as_string(connection)


def _create(connection: psycopg.Connection[Any], config: PostgresConfig) -> bool:
    """Create the schema and table if missing; whether the table was created."""
    table = config.table_name
    if connection.execute("SELECT to_regclass(%s)", [_quoted(connection, table)]).fetchone() != (None,):
        return False
    schema_exists = connection.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)",
                                       [table.schema]).fetchone() == (True,)
    statements = tables.create(table)[1 if schema_exists else 0:]
    try:
        with connection.transaction():
            for statement in statements:
                connection.execute(statement)
    except psycopg.errors.InsufficientPrivilege as exc:
        grant = f"SCHEMA {table.schema}" if schema_exists else f"DATABASE {config.database}"
        raise DestinationError(f"User {config.user!r} may not create {table} ({shown(exc)}): GRANT CREATE ON {grant} "
                               "to it, or "
                               "create the table yourself (docs/postgres.md has the DDL) and set create_table "
                               "false.", code="permission_denied") from exc
    return True


def _check(connection: psycopg.Connection[Any], config: PostgresConfig) -> None:
    table = config.table_name
    quoted = _quoted(connection, table)
    found = dict(connection.execute(tables.DESCRIBE, {"table": quoted}).fetchall())
    if not found:
        raise DestinationError(f"The table {table} does not exist (or user {config.user!r} may not use schema "
                               f"{table.schema}): create it (docs/postgres.md has the DDL), or set create_table.",
                               code="not_found")
    unique = connection.execute(tables.UNIQUE_KEY, {"table": quoted, "key": tables.KEY}).fetchone() == (True,)
    problems = tables.mismatches(found, unique_key=unique)
    if problems:
        raise DestinationError(f"The table {table} does not match what tracedrop writes: {'; '.join(problems)}.",
                               code="table_mismatch")


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """Connect, check or create the table, insert a row and roll it back; ``{"table": ..., "created": bool}``, or
    raise a DeliveryError whose code is one of ``CODES``."""
    assert isinstance(config, PostgresConfig)
    try:
        with connect(config, allow_private=allow_private) as connection:
            connection.execute(sql.SQL("SET statement_timeout = {}; SET lock_timeout = {}").format(
                STATEMENT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS))
            connection.commit()
            created = _create(connection, config) if config.create_table else False
            _check(connection, config)
            with connection.transaction(force_rollback=True):  # both of delivery's statements, undone
                row = sample_row()
                insert(connection, config.table_name, [row])
                skip_present(connection, config.table_name, [row])
            connection.commit()
    except DeliveryError as error:
        raise as_test_failure(error) from None
    except Exception as exc:
        raise as_test_failure(from_statement(exc, table=config.table, user=config.user)) from exc
    return {"table": config.table, "created": created}
