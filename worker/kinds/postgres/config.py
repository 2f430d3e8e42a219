"""The PostgreSQL destination's configuration: where the database is, who writes, over which TLS, into which table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import Field, SecretStr, StrictBool, StrictInt, field_validator

from worker.destination import DestinationConfig, Saved, valid_host

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
"""A schema or table name: lower-case letters, digits and ``_``, not starting with a digit, at most 63 characters
(PostgreSQL's limit), so the name means the same quoted or not."""
SslMode = Literal["disable", "prefer", "require", "verify-ca", "verify-full"]


@dataclass(frozen=True)
class TableName:
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def table_name(value: str) -> TableName:
    """``schema.table`` or ``table`` (in ``public``); ValueError says what is wrong."""
    parts = value.split(".")
    if len(parts) > 2:
        raise ValueError("must be table or schema.table")
    for part in parts:
        if not IDENTIFIER.fullmatch(part):
            raise ValueError(f"{part[:80]!r} is not a plain name: 1 to 63 lower-case letters, digits and _, not "
                             "starting with a digit")
    return TableName(*parts) if len(parts) == 2 else TableName("public", parts[0])


def _connection_word(value: str, what: str) -> str:
    if not value or len(value.encode()) > 63 or any(c in value for c in "\0\r\n"):
        raise ValueError(f"must be a {what} of 1 to 63 bytes, with no NUL or line break")
    return value


class PostgresConfig(DestinationConfig):
    """A PostgreSQL destination, as the admin API accepts it (docs/postgres.md)."""

    TITLE: ClassVar[str] = "PostgreSQL"
    SUMMARY: ClassVar[str] = ("A table in your own PostgreSQL: one row per trace, exactly once, with the Parquet "
                              "files' columns, ready for SQL.")
    SECRETS: ClassVar[tuple[str, ...]] = ("password",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset(
        {"host", "port", "database", "user", "password", "sslmode", "table", "create_table"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"host", "port"})

    type: Literal["postgres"]
    host: str = Field(max_length=253, title="Host", description="The server's host name or IP address.")
    port: Annotated[StrictInt, Field(ge=1, le=65535, title="Port")] = 5432
    database: str = Field(title="Database")
    user: str = Field(title="User", description="A role that may INSERT into the table (and create it, with "
                                                "Create Table).")
    password: SecretStr = Field(min_length=1, max_length=1024, title="Password")
    sslmode: SslMode | None = Field(
        default=None, title="SSL Mode",
        description="verify-full checks the server's certificate against the system's CAs and its host name. Empty: "
                    "verify-full for a public host, prefer for a private one; disable and prefer only with "
                    "private endpoints allowed.")
    table: str = Field(default="public.traces", max_length=127, title="Table",
                       description="schema.table, lower-case letters, digits and _.")
    create_table: StrictBool = Field(default=True, title="Create Table",
                                     description="The connection test creates the table (and schema) if missing.")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not valid_host(value):
            raise ValueError("is not a valid DNS name or IP address")
        return value

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        return _connection_word(value, "database name")

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        return _connection_word(value, "role name")

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        table_name(value)
        return value

    @property
    def table_name(self) -> TableName:
        return table_name(self.table)


class PostgresDestination(PostgresConfig, Saved):
    """A saved PostgreSQL destination."""
