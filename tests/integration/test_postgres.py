"""The PostgreSQL destination against a private PostgreSQL (tests/postgres.py: initdb and the postgres server on a
free loopback port, never the machine's own), with a role that may write and one that may only connect.

Every assertion reads what a user would: the rows in the table (with psql's eyes: a superuser's query), the
status and dead letters of the admin API, the connection test's answer.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.faults import WORKSPACE, installation, stored, traces
from tests.lake import duckdb_on
from tests.postgres import PostgreSQL, postgresql
from tests.rebinding import Rebinding
from worker.errors import EndpointForbidden
from worker.kinds.postgres import PostgresDestination, PostgresWriter
from worker.kinds.postgres.client import IDLE_SECONDS, connect
from worker.kinds.postgres.conntest import connection_test
from worker.outbox import Claimed

DATABASE = "tracedrop"
WRITER, READER = "td_writer", "td_reader"
PASSWORD = "writer-password-0123"
MODELS = ("anthropic/claude-sonnet-4", "google/gemini-2.5-pro", "openai/gpt-4o")


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgreSQL]:
    """One server for the module: database ``tracedrop``; ``td_writer`` may create tables in ``public`` (and
    schemas), ``td_reader`` may only connect."""
    server = postgresql()
    server.sql(f"CREATE DATABASE {DATABASE}")
    for role in (WRITER, READER):
        server.sql(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    server.sql(f"GRANT CREATE ON DATABASE {DATABASE} TO {WRITER}")
    server.sql(f"GRANT CREATE ON SCHEMA public TO {WRITER}", dbname=DATABASE)
    yield server
    server.remove()


def new_table() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def pg_body(pg: PostgreSQL, table: str, **extra: Any) -> dict[str, Any]:
    return {"name": table, "type": "postgres", "host": "127.0.0.1", "port": pg.port, "database": DATABASE,
            "user": WRITER, "password": PASSWORD, "table": f"public.{table}", **extra}


def rows(pg: PostgreSQL, table: str, columns: str = "*", where: str = "") -> list[tuple[Any, ...]]:
    return pg.sql(f"SELECT {columns} FROM public.{table} {where} ORDER BY capture_id", dbname=DATABASE)


def count(pg: PostgreSQL, table: str) -> int:
    return int(pg.sql(f"SELECT count(*) FROM public.{table}", dbname=DATABASE)[0][0])


def rich_trace(i: int, **fields: Any) -> dict[str, Any]:
    """Three models; tokens, cost, a request and response body, a session; every tenth without usage or cost."""
    trace = make_trace(i, model=MODELS[i % 3], session_id=f"s{i % 4}", timestamp=f"2024-01-15T10:{i % 60:02d}:00Z",
                       request={"messages": [{"role": "user", "content": f"question {i}"}]},
                       response={"choices": [{"message": {"content": f"answer {i}"}}]}, status_code=200)
    if i % 10 != 9:
        trace["usage"] = {"prompt_tokens": 100 + i, "completion_tokens": 10 * i, "total_tokens": 100 + 11 * i}
        trace["cost"] = {"input": (i + 1) * 0.000013, "output": (i % 7) * 0.000101,
                         "total": (i + 1) * 0.000013 + (i % 7) * 0.000101}
    trace.update(fields)
    return trace


def post(ingest: httpx.Client, batch: list[dict[str, Any]]) -> None:
    response = ingest.post("/v1/traces", json={"traces": batch})
    assert response.status_code == 202, response.text


def delivered(admin: stack.Admin, workspace: str, destination_id: str, total: int, *,
              timeout: float = 90) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        status = admin.status(workspace, destination_id)
        return status if status["delivered"] >= total and status["backlog"]["size"] == 0 else None

    return dict(wait_for(done, timeout=timeout, what=f"{total} traces delivered"))


BY_MODEL = ("SELECT model, count(*), sum(input_tokens), sum(output_tokens), sum(cost_total)::decimal(18, 9) "
            "FROM {source} GROUP BY model ORDER BY model")
"""One query for the lake and the table: the same text, only the source differs."""


def test_every_posted_trace_is_one_row_equal_to_what_was_posted_and_sums_match_the_lake(
    running: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS, bucket: str,
    pg: PostgreSQL
) -> None:
    # Given a PostgreSQL destination (its table created by the connection test) and a Parquet lake of the same
    # workspace, so both get the same traffic
    table = new_table()
    destination = admin.destination(workspace, pg_body(pg, table))
    lake = admin.destination(workspace, stack.s3_body(s3, bucket, prefix="parquet", mode="batch", every=1,
                                                      format="parquet"))
    sent = [rich_trace(i) for i in range(60)]

    # When 60 traces are posted
    post(ingest, sent)

    # Then each is one row, its columns what was posted
    delivered(admin, workspace, destination["id"], 60)
    found = {row[0]: row for row in rows(pg, table, "capture_id, model, input_tokens, output_tokens, cost_total, "
                                                    "session_id, status_code, request, response, timestamp")}
    assert sorted(found) == sorted(trace["id"] for trace in sent)
    for trace in sent:
        _, model, tokens_in, tokens_out, cost, session, status, request, response, when = found[trace["id"]]
        assert (model, session, status) == (trace["model"], trace["session_id"], 200)
        assert (tokens_in, tokens_out) == ((trace["usage"]["prompt_tokens"], trace["usage"]["completion_tokens"])
                                           if "usage" in trace else (None, None))
        assert cost == (trace["cost"]["total"] if "cost" in trace else None)
        assert (request, response) == (trace["request"], trace["response"])
        assert when.isoformat() == trace["timestamp"].replace("Z", "+00:00")
    # and the sums per model are the lake's: the same query over the Parquet files in DuckDB
    delivered(admin, workspace, lake["id"], 60)
    duck = duckdb_on(s3).execute(BY_MODEL.format(source=f"read_parquet('s3://{bucket}/parquet/*/*.parquet')"))
    in_lake = [tuple(row) for row in duck.fetchall()]
    in_table = [(model, n, tokens_in, tokens_out, Decimal(cost)) for model, n, tokens_in, tokens_out, cost in
                pg.sql(BY_MODEL.format(source=f"public.{table}"), dbname=DATABASE)]
    assert in_table == [(model, n, i, o, Decimal(c)) for model, n, i, o, c in in_lake]
    assert sum(row[1] for row in in_table) == 60


def test_privacy_mode_leaves_request_and_response_null(
    running: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, pg: PostgreSQL
) -> None:
    # Given a destination in privacy mode
    table = new_table()
    destination = admin.destination(workspace, pg_body(pg, table, privacy_mode=True))
    # When traces with bodies and headers are posted
    post(ingest, [rich_trace(i, headers={"request": {"x-team": "a"}}) for i in range(5)])
    # Then the content columns are NULL in every row, the rest is kept
    delivered(admin, workspace, destination["id"], 5)
    assert rows(pg, table, "request, response, request_headers, model") == [
        (None, None, {"x-team": "a"}, MODELS[i % 3]) for i in range(5)]


@pytest.mark.parametrize("name", ['public."traces"', "traces; DROP TABLE x", "a" * 64, "public.a" + "b" * 63,
                                  "Traces", "a.b.c", "1traces", "", "public."])
def test_table_names_that_are_not_plain_identifiers_are_refused_naming_table(
    running: stack.Api, admin: stack.Admin, workspace: str, pg: PostgreSQL, name: str
) -> None:
    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json={**pg_body(pg, "x"), "table": name})
    assert response.status_code == 422, response.text
    assert [problem["field"] for problem in response.json()["error"]["problems"]] == ["table"]


def test_the_settings_page_offers_the_kind_from_its_description(running: stack.Api, admin: stack.Admin) -> None:
    # Given the kinds the page renders its forms from
    types = {kind["type"]: kind for kind in admin.http.get("/v1/destination-types").json()["types"]}
    # Then PostgreSQL is one, its fields in order with their inputs, the password a secret
    form = types["postgres"]
    assert form["title"] == "PostgreSQL"
    assert [(f["name"], f["input"], f["required"]) for f in form["fields"]] == [
        ("host", "text", True), ("port", "number", False), ("database", "text", True), ("user", "text", True),
        ("password", "secret", True), ("sslmode", "select", False), ("table", "text", False),
        ("create_table", "checkbox", False)]
    assert next(f for f in form["fields"] if f["name"] == "sslmode")["choices"] == [
        "disable", "prefer", "require", "verify-ca", "verify-full"]


def test_the_password_is_masked_and_must_be_sent_again_to_move_the_destination(
    running: stack.Api, admin: stack.Admin, workspace: str, pg: PostgreSQL
) -> None:
    # Given a saved destination: its password is never answered
    destination = admin.destination(workspace, pg_body(pg, new_table()))
    assert destination["password"] == "********"
    # When a PATCH moves it to another host without the password
    path = f"/v1/workspaces/{workspace}/destinations/{destination['id']}"
    moved = admin.http.patch(path, json={"host": "localhost"})
    # Then it is refused naming the password, and nothing changed
    assert moved.status_code == 422 and moved.json()["error"]["code"] == "secrets_required"
    assert [problem["field"] for problem in moved.json()["error"]["problems"]] == ["password"]
    assert admin.http.get(path).json()["host"] == "127.0.0.1"


def test_a_worker_holds_a_few_connections_per_destination_and_replaces_them_when_it_is_updated(
    running: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, pg: PostgreSQL
) -> None:
    # Given a destination with a role of its own, delivering
    role, table = f"r_{uuid.uuid4().hex[:8]}", new_table()
    pg.sql(f"CREATE ROLE {role} LOGIN PASSWORD 'first-password'")
    pg.sql(f"GRANT CREATE ON SCHEMA public TO {role}", dbname=DATABASE)
    destination = admin.destination(workspace, pg_body(pg, table, user=role, password="first-password"))
    post(ingest, [rich_trace(i) for i in range(300)])
    delivered(admin, workspace, destination["id"], 300)

    def sessions() -> list[Any]:
        return [started for (started,) in pg.sql("SELECT backend_start FROM pg_stat_activity WHERE usename = %s",
                                                  role)]

    # Then the worker (2 pool processes) holds at most two connections per process for it
    assert 1 <= len(sessions()) <= 2 * 2
    # When its password changes (in the database, then by a PATCH) and more traces come
    pg.sql(f"ALTER ROLE {role} PASSWORD 'second-password'")
    patched = admin.http.patch(f"/v1/workspaces/{workspace}/destinations/{destination['id']}",
                               json={"password": "second-password"})
    assert patched.status_code == 200, patched.text
    changed_at = pg.sql("SELECT now()")[0][0]
    post(ingest, [rich_trace(i) for i in range(300, 600)])
    delivered(admin, workspace, destination["id"], 600)
    # Then every connection it holds was opened after the change: the old ones were closed (at the next batch of
    # the process that holds them, or once unused for IDLE_SECONDS in a process that got none)
    wait_for(lambda: all(started > changed_at for started in sessions()), what="the old connections closed",
             timeout=IDLE_SECONDS + 30)
    assert count(pg, table) == 600


def test_a_batch_written_twice_adds_no_row_twice(
    running: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, pg: PostgreSQL
) -> None:
    # Given the first 20 rows already in the table, as a batch committed just before its worker died leaves them
    table = new_table()
    destination = admin.destination(workspace, pg_body(pg, table))
    pg.sql(f"INSERT INTO public.{table} (capture_id, model) SELECT 'gen-' || i, 'already there' "
           "FROM generate_series(0, 19) AS i", dbname=DATABASE)
    # When those traces and 30 more are delivered
    post(ingest, [rich_trace(i) for i in range(50)])
    status = delivered(admin, workspace, destination["id"], 50)
    # Then every trace is one row, the earlier rows untouched, nothing dead-lettered
    assert status["dead_lettered"] == 0 and status["state"] == "healthy"
    assert count(pg, table) == 50
    assert pg.sql(f"SELECT count(*) FROM public.{table} WHERE model = 'already there'", dbname=DATABASE) == [(20,)]


def test_a_refused_row_is_dead_lettered_with_the_database_message_and_lands_on_replay_after_the_fix(
    running: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, pg: PostgreSQL
) -> None:
    # Given a table whose owner added a constraint that one model breaks
    table = new_table()
    destination = admin.destination(workspace, pg_body(pg, table))
    pg.sql(f"ALTER TABLE public.{table} ADD CONSTRAINT no_blocked_model CHECK (model <> 'acme/blocked')",
           dbname=DATABASE)
    # When a batch holds that row, and a row with a NUL character in its request body (which jsonb cannot hold)
    batch = [rich_trace(i) for i in range(30)]
    batch[7]["model"] = "acme/blocked"
    batch[19]["request"] = {"messages": [{"role": "user", "content": "nul \u0000 here"}]}
    post(ingest, batch)

    # Then the other 28 rows land and each refused one is a dead letter with the database's own message
    wait_for(lambda: admin.status(workspace, destination["id"])["dead_lettered"] == 2, what="2 dead letters")
    status = delivered(admin, workspace, destination["id"], 28)
    assert status["delivered"] == 28 and status["state"] == "healthy"
    assert count(pg, table) == 28
    letters = admin.http.get(f"/v1/workspaces/{workspace}/destinations/{destination['id']}/dead-letters").json()
    reasons = sorted((letter["reason"]["code"], letter["reason"]["message"]) for letter in letters["dead_letters"])
    assert [code for code, _ in reasons] == ["row_refused", "row_refused"]
    assert any('violates check constraint "no_blocked_model"' in message for _, message in reasons), reasons
    assert any("unsupported Unicode escape sequence" in message for _, message in reasons), reasons

    # When the constraint is dropped and the dead letters replayed
    pg.sql(f"ALTER TABLE public.{table} DROP CONSTRAINT no_blocked_model", dbname=DATABASE)
    replay = admin.http.post(f"/v1/workspaces/{workspace}/destinations/{destination['id']}/dead-letters/replay")
    assert replay.json() == {"replayed": 2}

    # Then the blocked model's row lands; the NUL one is dead-lettered again (no table can hold it as jsonb)
    wait_for(lambda: count(pg, table) == 29, what="the replayed row")
    assert rows(pg, table, "model", "WHERE capture_id = 'gen-7'") == [("acme/blocked",)]
    wait_for(lambda: admin.status(workspace, destination["id"])["dead_lettered"] == 3, what="the NUL row again")


def test_the_writer_splits_a_batch_around_refused_rows_and_a_batch_written_again_adds_nothing(pg: PostgreSQL) -> None:
    # Given a destination's table (made by its connection test) with a constraint three traces break
    table = new_table()
    destination = PostgresDestination.model_validate({**pg_body(pg, table), "id": f"d-{table}", "workspace": "w",
                                                      "created_at": "2024-01-15T10:00:00Z"})
    connection_test(destination, allow_private=True)
    pg.sql(f"ALTER TABLE public.{table} ADD CONSTRAINT small CHECK (input_tokens < 140)", dbname=DATABASE)
    claimed = [Claimed(i, stored(rich_trace(i))) for i in range(50)]
    writer = PostgresWriter(allow_private=True)
    # When the writer delivers the batch
    verdict = writer.deliver(destination, claimed)
    # Then each refused row is rejected alone, with the database's message, and every other row lands
    refused = {i for i in range(50) if i % 10 != 9 and 100 + i >= 140}
    assert sorted(trace_id for trace_id, _ in verdict.rejected) == sorted(refused)
    assert all('violates check constraint "small"' in error.message for _, error in verdict.rejected)
    assert sorted(verdict.delivered) == sorted(set(range(50)) - refused) and not verdict.retry
    assert count(pg, table) == 50 - len(refused)
    # When the same batch is delivered again (its worker died before recording it), the constraint dropped
    pg.sql(f"ALTER TABLE public.{table} DROP CONSTRAINT small", dbname=DATABASE)
    again = writer.deliver(destination, claimed)
    # Then every trace is delivered and is one row: the refused ones added, none twice
    assert sorted(again.delivered) == list(range(50)) and not again.rejected
    assert pg.sql(f"SELECT count(*), count(DISTINCT capture_id) FROM public.{table}", dbname=DATABASE) == [(50, 50)]


def test_the_connection_goes_to_the_address_that_was_checked_never_to_a_later_dns_answer(
    pg: PostgreSQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a host name that resolves to the server first, then to the metadata address (DNS rebinding); libpq
    # could not resolve it at all (no such name in any DNS)
    name = "db.rebinding.test"
    rebinding = Rebinding(monkeypatch, name)
    rebinding.answers = ["127.0.0.1", "169.254.169.254"]
    config = PostgresDestination.model_validate({**pg_body(pg, new_table()), "host": name, "id": "d", "workspace": "w",
                                                 "created_at": "2024-01-15T10:00:00Z"})
    # When a connection is opened: it reaches the server at the address the fence checked
    with connect(config, allow_private=True) as connection:
        assert connection.execute("SELECT inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)
    assert rebinding.lookups == 1
    # and the next one, after the name moved, is refused before anything connects
    with pytest.raises(EndpointForbidden):
        connect(config, allow_private=True)
    assert rebinding.attempted == []


def test_revoked_insert_parks_the_destination_and_a_grant_resumes_it_by_probes(
    running: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, pg: PostgreSQL
) -> None:
    # Given a delivering destination
    table = new_table()
    destination = admin.destination(workspace, pg_body(pg, table))
    post(ingest, [rich_trace(i) for i in range(5)])
    delivered(admin, workspace, destination["id"], 5)
    # When INSERT is revoked and more traces come
    pg.sql(f"REVOKE INSERT ON public.{table} FROM {WRITER}", dbname=DATABASE)
    post(ingest, [rich_trace(i) for i in range(5, 25)])
    # Then the destination is parked with permission_denied, and nothing is lost
    parked = wait_for(lambda: (s if (s := admin.status(workspace, destination["id"]))["parked"] else None),
                      what="parked")
    assert parked["last_error"]["code"] == "permission_denied" and parked["state"] == "failing"
    assert "GRANT INSERT" in parked["last_error"]["message"]
    assert parked["backlog"]["size"] == 20 and parked["dead_lettered"] == 0
    # When INSERT is granted again, without any PATCH
    pg.sql(f"GRANT INSERT ON public.{table} TO {WRITER}", dbname=DATABASE)
    # Then a probe resumes it and every trace lands once
    status = delivered(admin, workspace, destination["id"], 25, timeout=120)
    assert status["state"] == "healthy" and not status["parked"]
    assert count(pg, table) == 25


@pytest.mark.faults
def test_the_database_stopped_for_20_seconds_is_failing_with_its_code_then_everything_lands_once(
    running: stack.Api, admin: stack.Admin, workspace: str, ingest: httpx.Client, pg: PostgreSQL
) -> None:
    # Given a delivering destination
    table = new_table()
    destination = admin.destination(workspace, pg_body(pg, table))
    post(ingest, [rich_trace(i) for i in range(10)])
    delivered(admin, workspace, destination["id"], 10)
    # When the server stops for 20 s while traces keep coming
    pg.stop()
    try:
        post(ingest, [rich_trace(i) for i in range(10, 40)])
        # Then the status says failing, with the code of a server nobody answers for
        failing = wait_for(lambda: (s if (s := admin.status(workspace, destination["id"]))["last_error"] and
                                    s["last_error"]["code"] == "endpoint_unreachable" else None),
                           what="failing with endpoint_unreachable")
        assert failing["state"] == "failing" and not failing["parked"]
        time.sleep(20)
        post(ingest, [rich_trace(i) for i in range(40, 50)])
    finally:
        pg.start()
    # Then every trace lands once the server is back, none twice
    status = delivered(admin, workspace, destination["id"], 50, timeout=120)
    assert status["state"] == "healthy" and status["dead_lettered"] == 0
    assert count(pg, table) == 50


@pytest.mark.faults
def test_a_worker_killed_mid_batch_leaves_every_trace_exactly_once(
    tmp_path: Path, s3: stack.SeaweedFS, pg: PostgreSQL
) -> None:
    with installation(tmp_path, s3) as td:
        # Given 2,000 traces accepted while one worker writes them, each batch held 0.2 s in the database
        table = new_table()
        destination = td.admin.destination(WORKSPACE, pg_body(pg, table))["id"]
        pg.sql(f"CREATE FUNCTION public.slow_{table}() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END $$", dbname=DATABASE)
        pg.sql(f"CREATE TRIGGER slow AFTER INSERT ON public.{table} FOR EACH STATEMENT "
               f"EXECUTE FUNCTION public.slow_{table}()", dbname=DATABASE)
        victim = td.worker()
        for start in range(0, 2000, 200):
            assert td.post(traces(200, start=start)) == 202
        # When that worker is SIGKILLed (with its pool children) while batches are in the database
        wait_for(lambda: td.status(destination)["delivered"] >= 200, what="a first part delivered")
        victim.kill()
        at_kill = td.status(destination)
        assert at_kill["delivered"] < 2000, "the kill came too late to test anything"
        td.worker()
        # Then once a worker runs again every trace is exactly one row
        done = td.wait_status(destination, timeout=120, what="all delivered", delivered=2000)
        assert done["dead_lettered"] == 0 and done["backlog"]["size"] == 0
        assert pg.sql(f"SELECT count(*), count(DISTINCT capture_id) FROM public.{table}", dbname=DATABASE) == [
            (2000, 2000)]
        assert {row[0] for row in rows(pg, table, "capture_id")} == {f"gen-{i}" for i in range(2000)}


# The connection test, each of its typed failures


def connection_tested(admin: stack.Admin, workspace: str, body: dict[str, Any]) -> dict[str, Any]:
    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test", json=body)
    assert response.status_code in (200, 400), response.text
    return dict(response.json())


def failure(admin: stack.Admin, workspace: str, body: dict[str, Any]) -> tuple[str, str]:
    answer = connection_tested(admin, workspace, body)
    assert answer["ok"] is False, answer
    return answer["error"]["code"], answer["error"]["message"]


def test_a_passing_test_creates_the_table_with_its_key_and_indexes_and_leaves_no_row(
    running: stack.Api, admin: stack.Admin, workspace: str, pg: PostgreSQL
) -> None:
    table = new_table()
    answer = connection_tested(admin, workspace, pg_body(pg, table))
    assert answer == {"ok": True, "table": f"public.{table}", "created": True}
    assert count(pg, table) == 0
    indexes = pg.sql("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", table,
                     dbname=DATABASE)
    assert len(indexes) == 4 and any("PRIMARY KEY" in d or "pkey" in d for (d,) in indexes)
    assert connection_tested(admin, workspace, pg_body(pg, table))["created"] is False


@pytest.mark.parametrize(("change", "code", "says"), [
    ({"password": "wrong-password"}, "unauthorized", "password"),
    ({"user": "nobody"}, "unauthorized", "nobody"),
    ({"database": "nowhere"}, "not_found", "nowhere"),
    ({"create_table": False}, "not_found", "does not exist"),
])
def test_the_connection_test_names_credentials_and_missing_things(
    running: stack.Api, admin: stack.Admin, workspace: str, pg: PostgreSQL, change: dict[str, Any], code: str,
    says: str
) -> None:
    found = failure(admin, workspace, {**pg_body(pg, new_table()), **change})
    assert found[0] == code and says in found[1], found


def test_a_role_that_may_not_insert_or_create_fails_with_permission_denied(
    running: stack.Api, admin: stack.Admin, workspace: str, pg: PostgreSQL
) -> None:
    # Given a table the reader may see but not insert into
    table = new_table()
    assert connection_tested(admin, workspace, pg_body(pg, table))["ok"]
    pg.sql(f"GRANT SELECT ON public.{table} TO {READER}", dbname=DATABASE)
    code, message = failure(admin, workspace, {**pg_body(pg, table), "user": READER})
    assert code == "permission_denied" and "GRANT INSERT" in message
    # and a table it would have to create, in a schema it may not create in
    code, message = failure(admin, workspace, {**pg_body(pg, new_table()), "user": READER})
    assert code == "permission_denied" and "GRANT CREATE ON SCHEMA public" in message


def test_a_table_of_another_shape_is_a_table_mismatch_naming_the_columns(
    running: stack.Api, admin: stack.Admin, workspace: str, pg: PostgreSQL
) -> None:
    table = new_table()
    assert connection_tested(admin, workspace, pg_body(pg, table))["ok"]
    pg.sql(f"ALTER TABLE public.{table} DROP COLUMN session_id, ALTER COLUMN input_tokens TYPE integer",
           dbname=DATABASE)
    code, message = failure(admin, workspace, pg_body(pg, table))
    assert code == "table_mismatch"
    assert "session_id is missing (text)" in message and "input_tokens is integer, not bigint" in message


def test_an_unreachable_server_a_silent_one_and_a_certificate_it_cannot_verify(
    running: stack.Api, admin: stack.Admin, workspace: str, pg: PostgreSQL
) -> None:
    assert failure(admin, workspace, {**pg_body(pg, new_table()), "port": stack.free_port()})[0] == \
        "endpoint_unreachable"
    code, message = failure(admin, workspace, {**pg_body(pg, new_table()), "host": "localhost",
                                               "sslmode": "verify-full"})
    assert code == "tls_error" and "certificate" in message
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        assert failure(admin, workspace, {**pg_body(pg, new_table()), "port": silent.getsockname()[1]})[0] == \
            "timeout"


def test_a_private_server_is_endpoint_forbidden_without_private_endpoints(
    public_admin: stack.Admin, workspace: str, pg: PostgreSQL
) -> None:
    for host in ("127.0.0.1", "localhost", "169.254.169.254"):
        code, _ = failure(public_admin, workspace, {**pg_body(pg, new_table()), "host": host,
                                                    "sslmode": "verify-full"})
        assert code == "endpoint_forbidden", host
