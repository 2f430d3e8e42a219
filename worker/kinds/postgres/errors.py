"""psycopg's exceptions mapped into tracedrop's error tree: the one place that does it.

A statement's failure carries its SQLSTATE: the class decides (``ROW_CLASSES`` refuse one row, ``TRANSIENT``
codes are retried, the rest are the destination's). A failure to connect carries none (libpq reports it as text
only), so it is read from libpq's message, which is English whatever the server's language; an unknown one is
transient.
"""

from __future__ import annotations

import re

import psycopg

from worker.egress import CONNECT_TIMEOUT
from worker.errors import DeliveryError, DestinationError, TraceRejected, TransientError
from worker.excerpts import excerpt

ROW_CLASSES = ("22", "23")
"""SQLSTATE classes of a value the table refuses (data exception, integrity constraint violation): the row is
dead-lettered, the rest of the batch lands."""
TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
"""Connection exceptions, serialization failures and deadlocks, insufficient resources (too many connections, disk
full), operator intervention (shutdown, statement timeout), system errors: retried with backoff."""
TIMEOUTS = frozenset({"57014", "55P03"})
"""A statement cancelled by ``statement_timeout``, a lock not granted within ``lock_timeout``."""
_NO_ROLE = re.compile(r'FATAL: +role ".*" does not exist')
_NO_DATABASE = re.compile(r'FATAL: +database ".*" does not exist')
GRANT = "GRANT INSERT, SELECT (capture_id) ON {table} TO {user}"


class RowRefused(TraceRejected):
    """The table refused this trace's row (a value out of range, invalid text, a constraint)."""

    code = "row_refused"


def shown(exc: BaseException) -> str:
    """The server's message (and its detail), as an excerpt."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
        return excerpt(exc.diag.message_primary + detail)
    return excerpt(str(exc).removeprefix("connection failed: "))


def from_connect(exc: BaseException, *, user: str, database: str) -> DeliveryError:
    """A connection that could not be opened."""
    if isinstance(exc, DeliveryError):
        return exc
    text = str(exc)
    said = excerpt(text.removeprefix("connection failed: ").split("\n")[0])
    if "password authentication failed" in text or _NO_ROLE.search(text):
        return DestinationError(f"The server refused the credentials: check user {user!r} and its password "
                                f"({said}).", code="unauthorized")
    if "no pg_hba.conf entry" in text or "authentication failed" in text or "password is required" in text:
        return DestinationError(f"The server refused this client ({said}): check pg_hba.conf lets user {user!r} in "
                                "from tracedrop's address, with a password.", code="unauthorized")
    if _NO_DATABASE.search(text):
        return DestinationError(f"The database {database!r} does not exist on this server: create it or fix "
                                "database.", code="not_found")
    if "permission denied for database" in text:
        return DestinationError(f"User {user!r} may not connect to database {database!r}: GRANT CONNECT ON "
                                f"DATABASE to it.", code="permission_denied")
    if "SSL" in text or "certificate" in text:
        return DestinationError(f"Could not open a TLS connection that sslmode accepts ({said}): with verify-full "
                                "the server's certificate must chain to a CA the system trusts and name the host; "
                                "or set sslmode.", code="tls_error")
    if "timeout expired" in text:
        return TransientError(f"The server did not accept a connection within {CONNECT_TIMEOUT} s: check the host, "
                              "the port and any firewall in between.", code="timeout")
    if "too many" in text or "starting up" in text or "shutting down" in text or "recovery" in text:
        return TransientError(f"The server cannot take a connection now ({said}): tracedrop retries with backoff.",
                              code="server_unavailable")
    return TransientError(f"Nothing accepts PostgreSQL connections there ({said}): check the host, the port and "
                          "any firewall in between.", code="endpoint_unreachable")


def from_statement(exc: BaseException, *, table: str, user: str) -> DeliveryError:
    """A statement (the insert, the table check) that failed on an open connection."""
    if isinstance(exc, DeliveryError):
        return exc
    state = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, psycopg.DataError) or state.startswith(ROW_CLASSES):
        return RowRefused(f"The table refused this row: {shown(exc)}")
    if state == "42501":
        return DestinationError(f"User {user!r} may not write to {table} ({shown(exc)}): "
                                f"{GRANT.format(table=table, user=user)}, and USAGE on its schema.",
                                code="permission_denied")
    if state in ("42P01", "3F000"):
        return DestinationError(f"The table {table} is not there ({shown(exc)}): create it, or let tracedrop "
                                "(create_table).", code="not_found")
    if state in ("42703", "42804", "42P10"):
        return DestinationError(f"The table {table} does not have the columns tracedrop writes ({shown(exc)}); "
                                "the connection test names them.", code="table_mismatch")
    if state in TIMEOUTS:
        return TransientError(f"The database did not finish in time ({shown(exc)}): tracedrop retries with backoff; "
                              "if it lasts, look for locks on the table or a busy server.", code="timeout")
    if state.startswith(TRANSIENT_CLASSES) or not state:
        return TransientError(f"The database failed ({shown(exc)}): tracedrop retries with backoff; if it lasts, "
                              "check the server.", code="server_unavailable" if state else "connection_lost")
    return DestinationError(f"The database refused the insert into {table} ({state}: {shown(exc)}).",
                            code="database_refused")
