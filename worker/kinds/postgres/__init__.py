"""PostgreSQL destinations: each trace one row of a table with the Parquet files' columns, exactly once by
``capture_id`` (docs/postgres.md)."""

from worker.kinds.base import Kind
from worker.kinds.postgres.config import PostgresConfig, PostgresDestination
from worker.kinds.postgres.conntest import connection_test
from worker.kinds.postgres.writer import PostgresWriter

KIND = Kind(name="postgres", config=PostgresConfig, destination=PostgresDestination, connection_test=connection_test,
            writer=PostgresWriter)

__all__ = ["KIND", "PostgresConfig", "PostgresDestination", "PostgresWriter"]
