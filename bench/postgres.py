"""The PostgreSQL destination against a plain psycopg COPY of the same rows, into the private PostgreSQL of
tests/postgres.py.

tracedrop: one `tracedrop worker` drains a waiting backlog into a table it created (the connection test's DDL:
primary key and three indexes), with one pool process and at its default settings (one per CPU). Plain: the same
rows, rendered before the clock starts, copied by one process with ``COPY ... FROM STDIN`` in batches of the
writer's claim size, one transaction each, into a table made by the same DDL. Rounds alternate; each figure is the
median.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

import orjson
from psycopg import sql

from bench.workload import WORKSPACE, Stack, trace
from tests.postgres import PostgreSQL, postgresql
from worker.batch.parquet import COLUMNS
from worker.batch.record import build_record
from worker.kinds.postgres import table as tables
from worker.kinds.postgres.config import TableName
from worker.kinds.postgres.writer import TRACES_PER_CLAIM
from worker.trace import TraceIn, stored_form

DATABASE = "bench"
USER, PASSWORD = "bench_writer", "bench-writer-password"


def prepared() -> PostgreSQL:
    server = postgresql()
    server.sql(f"CREATE DATABASE {DATABASE}")
    server.sql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
    server.sql(f"GRANT CREATE ON SCHEMA public TO {USER}", dbname=DATABASE)
    return server


def tracedrop_rate(bench: Stack, pg: PostgreSQL, *, count: int, prefix: str, processes: int | None) -> float:
    """Rows/s of a worker (``processes`` pool processes, None for its default) draining ``count`` waiting traces
    into a new table."""
    name = f"td_{prefix}"
    destination = bench.admin.destination(WORKSPACE, {
        "name": name, "type": "postgres", "host": "127.0.0.1", "port": pg.port, "database": DATABASE,
        "user": USER, "password": PASSWORD, "table": f"public.{name}"})["id"]
    bench.ingest(count=count, per_request=100, clients=4, prefix=prefix)
    worker = bench.worker(f"pg{prefix}", processes)
    seconds = bench.wait_drained(destination, timeout=900)
    worker.stop()
    bench.delete_destination(destination)
    found = pg.sql(f"SELECT count(*) FROM public.{name}", dbname=DATABASE)[0][0]
    if found != count:
        raise RuntimeError(f"postgres: {found} rows for {count} traces")
    return count / seconds


def copy_rate(pg: PostgreSQL, *, count: int, prefix: str) -> float:
    """Rows/s of plain COPY of the same rows, TRACES_PER_CLAIM to a transaction, from this process."""
    table = TableName("public", f"copy_{prefix}")
    values = []
    for i in range(count):
        record = build_record(i, stored_form(TraceIn.model_validate(trace(i, prefix))), privacy_mode=False)
        row = [column.value(record) for column in COLUMNS]
        values.append([orjson.dumps(v).decode() if isinstance(v, dict) else v for v in row])
    with pg.connect(DATABASE) as connection:
        for statement in tables.create(table):
            connection.execute(statement)
        connection.autocommit = False
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(tables.qualified(table), tables.names())
        started = time.perf_counter()
        for start in range(0, count, TRACES_PER_CLAIM):
            with connection.transaction(), connection.cursor().copy(statement) as copy:
                for row in values[start:start + TRACES_PER_CLAIM]:
                    copy.write_row(row)
        return count / (time.perf_counter() - started)


def rates(bench: Stack, *, count: int, rounds: int = 3) -> dict[str, Any]:
    pg = prepared()
    try:
        ours: dict[str, list[float]] = {"one_process": [], "default": []}
        plain: list[float] = []
        for round_ in range(rounds):
            ours["one_process"].append(tracedrop_rate(bench, pg, count=count, prefix=f"o{round_}", processes=1))
            plain.append(copy_rate(pg, count=count, prefix=f"r{round_}"))
            ours["default"].append(tracedrop_rate(bench, pg, count=count, prefix=f"d{round_}", processes=None))
        copy = statistics.median(plain)
        return {"rows": count, "batch": TRACES_PER_CLAIM, "copy_per_s": copy,
                **{f"{name}_per_s": statistics.median(rates) for name, rates in ours.items()},
                "rounds": {**ours, "copy": plain},
                **{f"ratio_{name}": statistics.median(rates) / copy for name, rates in ours.items()}}
    finally:
        pg.remove()


def describe(figures: dict[str, Any]) -> str:
    return (f"tracedrop {figures['default_per_s']:.0f} rows/s (a worker at its default settings: "
            f"{figures['ratio_default']:.2f}x), {figures['one_process_per_s']:.0f} rows/s (1 worker process: "
            f"{figures['ratio_one_process']:.2f}x); plain COPY in batches of {figures['batch']} "
            f"{figures['copy_per_s']:.0f} rows/s")


def main() -> None:
    """``python -m bench.postgres``: this phase alone, on a stack of its own."""
    bench = Stack.start(beat=False)
    try:
        figures = rates(bench, count=int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
        print(describe(figures))
        print(orjson.dumps(figures).decode())
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
