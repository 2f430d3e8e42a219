"""The PostgreSQL kind's pure parts: names, the table check, rows, libpq's messages, connection parameters."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from worker.batch.parquet import COLUMNS
from worker.errors import DestinationError, EndpointForbidden, TransientError
from worker.kinds.postgres import table as tables
from worker.kinds.postgres.client import options
from worker.kinds.postgres.config import PostgresConfig, TableName
from worker.kinds.postgres.conntest import CODES
from worker.kinds.postgres.errors import from_connect
from worker.kinds.postgres.rows import document, row
from worker.trace import TraceIn, stored_form


def config(**fields: Any) -> PostgresConfig:
    return PostgresConfig.model_validate({"name": "w", "type": "postgres", "host": "db.example.com",
                                          "database": "analytics", "user": "tracedrop", "password": "pw", **fields})


def test_a_table_is_schema_and_name_or_a_name_in_public() -> None:
    assert config(table="llm.traces").table_name == TableName("llm", "traces")
    assert config(table="traces").table_name == TableName("public", "traces")
    assert config(table="a" * 63).table_name.name == "a" * 63


@pytest.mark.parametrize("name", ['llm."traces"', "x;drop", "a" * 64, "Traces", "a.b.c", "", "9x", "llm.", "ü"])
def test_a_table_that_is_not_plain_names_is_refused_naming_table(name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        config(table=name)
    assert [error["loc"] for error in refused.value.errors()] == [("table",)]


def test_the_columns_are_the_parquet_columns_in_postgresql_types() -> None:
    assert list(tables.TYPES) == [column.name for column in COLUMNS]
    assert tables.TYPES["capture_id"] == "text" and tables.TYPES["timestamp"] == "timestamp with time zone"
    assert tables.TYPES["cost_total"] == "double precision" and tables.TYPES["input_tokens"] == "bigint"
    assert {tables.TYPES[name] for name in ("identity", "metadata", "request", "response")} == {"jsonb"}


def test_the_check_names_missing_columns_other_types_and_a_key_that_is_not_unique() -> None:
    found = {**tables.TYPES, "request": "json", "model": "character varying", "input_tokens": "integer"}
    del found["session_id"]
    assert tables.mismatches(found, unique_key=False) == [
        "session_id is missing (text)", "input_tokens is integer, not bigint",
        "capture_id is neither the primary key nor alone in a unique index"]
    assert tables.mismatches(dict(tables.TYPES), unique_key=True) == []


def test_a_row_is_the_parquet_row_with_json_columns_as_json_text_and_privacy_mode_drops_the_bodies() -> None:
    trace = {"id": "gen-1", "timestamp": "2024-01-15T10:00:00Z", "model": "m", "request": {"q": "\u0000"},
             "response": {"a": 1}, "identity": {"login_name": "ana"}, "usage": {"prompt_tokens": 3}}
    body = orjson.dumps(stored_form(TraceIn.model_validate(trace)))
    found = dict(zip(tables.TYPES, row(7, body, privacy_mode=False), strict=True))
    assert (found["id"], found["capture_id"], found["input_tokens"], found["output_tokens"]) == (7, "gen-1", 3, None)
    assert orjson.loads(found["request"]) == {"q": "\u0000"} and orjson.loads(found["identity"])["login_name"] == "ana"
    private = dict(zip(tables.TYPES, row(7, body, privacy_mode=True), strict=True))
    assert (private["request"], private["response"]) == (None, None)
    [inserted] = orjson.loads(document([row(7, body, privacy_mode=False)]))
    assert inserted["request"] == {"q": "\u0000"} and inserted["timestamp"].startswith("2024-01-15T10:00:00")


@pytest.mark.parametrize(("message", "code"), [
    ('connection to server at "10.0.0.5", port 5432 failed: FATAL:  password authentication failed for user "x"',
     "unauthorized"),
    ('connection to server at "10.0.0.5", port 5432 failed: FATAL:  role "x" does not exist', "unauthorized"),
    ('connection to server failed: FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "x"', "unauthorized"),
    ('connection to server failed: FATAL:  database "analytics" does not exist', "not_found"),
    ("connection to server failed: SSL error: certificate verify failed", "tls_error"),
    ("connection to server failed: server does not support SSL, but SSL was required", "tls_error"),
    ("connection to server failed: timeout expired", "timeout"),
    ("connection to server failed: FATAL:  sorry, too many clients already", "server_unavailable"),
    ("connection to server failed: Connection refused", "endpoint_unreachable"),
])
def test_libpq_messages_map_to_codes(message: str, code: str) -> None:
    assert from_connect(Exception(message), user="x", database="analytics").code == code


def test_transient_and_destination_classes_of_connect_failures() -> None:
    assert isinstance(from_connect(Exception("timeout expired"), user="x", database="d"), TransientError)
    assert isinstance(from_connect(Exception("password authentication failed"), user="x", database="d"),
                      DestinationError)


def test_a_public_host_defaults_to_verify_full_with_the_system_cas_a_private_one_to_prefer() -> None:
    public = options(config(host="93.184.216.34"), allow_private=False)
    assert (public["host"], public["hostaddr"], public["sslmode"], public["sslrootcert"]) == (
        "93.184.216.34", "93.184.216.34", "verify-full", "system")
    private = options(config(host="10.1.2.3"), allow_private=True)
    assert private["sslmode"] == "prefer" and "sslrootcert" not in private


@pytest.mark.parametrize(("host", "sslmode"), [("10.1.2.3", None), ("169.254.169.254", "verify-full"),
                                               ("93.184.216.34", "disable"), ("93.184.216.34", "prefer")])
def test_private_hosts_and_weak_modes_are_forbidden_without_private_endpoints(host: str, sslmode: str | None) -> None:
    with pytest.raises(EndpointForbidden):
        options(config(host=host, sslmode=sslmode), allow_private=False)


def test_the_docs_list_every_code_of_the_connection_test() -> None:
    page = (Path(__file__).parents[2] / "docs/postgres.md").read_text()
    section = page.split("## Connection test")[1].split("\n## ")[0]
    assert set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)) == CODES
