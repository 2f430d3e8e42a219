"""Lake-ready output: DuckDB reads tracedrop's objects and files straight from the bucket, Hive partitions and all.

The same traces go to three destinations of one bucket: per-trace objects under
``objects/year=YYYY/month=MM/day=DD/`` (the trace's own date), ``jsonl.gz`` batch files under
``jsonl/date=YYYY-MM-DD/hour=HH/`` and ``parquet`` batch files under ``parquet/year=YYYY/month=MM/day=DD/`` (the
export time). DuckDB, with the httpfs extension from PyPI, queries them over
``s3://`` as docs/lake.md shows, and must find exactly what was sent. Costs are summed as ``DECIMAL(18,9)``, as money
is, so the sums are exact whatever order the engine adds them in.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import httpx
import pytest

from tests import stack
from tests.batchfiles import records_by_file
from tests.conftest import make_trace, wait_for
from tests.lake import duckdb_on

pytestmark = pytest.mark.usefixtures("running")

MODELS = ("anthropic/claude-sonnet-4", "google/gemini-2.5-pro", "openai/gpt-4o")
TRACES = 60
HIVE_DAYS = "{prefix}/year={year}/month={month}/day={day}"
HIVE_HOURS = "{prefix}/date={date}/hour={hour}"
MONEY = "DECIMAL(18,9)"


def lake_trace(i: int) -> dict[str, Any]:
    """Three days, three models in every day; every tenth trace carries no usage and no cost (nulls)."""
    trace = make_trace(i, timestamp=f"2024-01-{14 + i % 3}T{i % 24:02d}:30:00Z", model=MODELS[i // 3 % 3],
                       session_id=f"s{i}")
    if i % 10 != 9:
        cost_in, cost_out = Decimal(i + 1) * Decimal("0.000013"), Decimal(i % 7) * Decimal("0.000101")
        trace["usage"] = {"prompt_tokens": 100 + i, "completion_tokens": 10 * i, "total_tokens": 100 + 11 * i}
        trace["cost"] = {"input": float(cost_in), "output": float(cost_out), "total": float(cost_in + cost_out)}
    return trace


SENT = [lake_trace(i) for i in range(TRACES)]


def sent_cost(trace: dict[str, Any]) -> Decimal:
    return Decimal(str(trace["cost"]["total"])).quantize(Decimal("1e-9")) if "cost" in trace else Decimal(0)


def expected_by_model() -> list[tuple[Any, ...]]:
    totals: dict[str, list[Any]] = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    for trace in SENT:
        row = totals[trace["model"]]
        row[0] += 1
        row[1] += trace.get("usage", {}).get("prompt_tokens", 0)
        row[2] += trace.get("usage", {}).get("completion_tokens", 0)
        row[3] += sent_cost(trace)
    return [(model, *row) for model, row in sorted(totals.items())]


def expected_by_day() -> list[tuple[Any, ...]]:
    totals: dict[tuple[int, int, int], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for trace in SENT:
        year, month, day = (int(part) for part in trace["timestamp"][:10].split("-"))
        totals[(year, month, day)][0] += 1
        totals[(year, month, day)][1] += sent_cost(trace)
    return [(*day, *row) for day, row in sorted(totals.items())]


def expected_by_file_partition(s3: stack.SeaweedFS, bucket: str, prefix: str, cost: str) -> list[tuple[Any, ...]]:
    """Count and cost (the record's field at the dotted path ``cost``) per Hive folder (``k=v`` segments, numbers as
    numbers), from decoding the files found there (not by DuckDB)."""
    totals: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for key, records in records_by_file(s3.objects(bucket, f"{prefix}/")).items():
        folders = key.split("/")[1:-1]
        assert folders and all(re.fullmatch(r"[a-z]+=[0-9-]+", folder) for folder in folders), key
        values = (folder.split("=")[1] for folder in folders)
        partition = totals[tuple(int(value) if value.isdigit() else value for value in values)]
        for record in records:
            value: Any = record
            for step in cost.split("."):
                value = value.get(step) if isinstance(value, dict) else None
            partition[0] += 1
            partition[1] += Decimal(str(value)).quantize(Decimal("1e-9")) if value is not None else Decimal(0)
    return [(*partition, *row) for partition, row in sorted(totals.items())]


@pytest.fixture()
def lake(admin: stack.Admin, workspace: str, ingest: httpx.Client, s3: stack.SeaweedFS,
         bucket: str) -> duckdb.DuckDBPyConnection:
    """The bucket filled by three destinations with SENT, and a DuckDB pointed at it."""
    batch = {"mode": "batch", "every": 1, "path_template": HIVE_HOURS}
    destinations = [
        admin.destination(workspace, stack.s3_body(s3, bucket, prefix="objects", path_template=HIVE_DAYS)),
        admin.destination(workspace, stack.s3_body(s3, bucket, prefix="jsonl", format="jsonl.gz", **batch)),
        admin.destination(workspace, stack.s3_body(s3, bucket, prefix="parquet", format="parquet",
                                                   **{**batch, "path_template": HIVE_DAYS})),
    ]
    response = ingest.post("/v1/traces", json={"traces": SENT})
    assert response.status_code == 202, response.text
    for destination in destinations:
        def done(destination_id: str = destination["id"]) -> bool:
            status = admin.status(workspace, destination_id)
            return bool(status["delivered"] == TRACES and status["backlog"]["size"] == 0)

        wait_for(done, timeout=90, what=f"{TRACES} traces delivered to {destination['name']}")
    return duckdb_on(s3)


def test_duckdb_sums_per_trace_objects_per_model_and_per_hive_partition(
    lake: duckdb.DuckDBPyConnection, bucket: str
) -> None:
    # Given per-trace objects under year=/month=/day= folders of the traces' own dates
    source = f"read_json('s3://{bucket}/objects/*/*/*/*.json', hive_partitioning = true)"
    observations = (f"SELECT observations[1] AS o, year::INT AS year, month::INT AS month, day::INT AS day "
                    f"FROM {source}")

    # When DuckDB sums tokens and cost per model and per partition
    by_model = lake.sql(f"SELECT o.model, count(*), sum(o.promptTokens), sum(o.completionTokens), "
                        f"sum(o.totalCost::{MONEY}) FROM ({observations}) GROUP BY ALL ORDER BY ALL").fetchall()
    by_day = lake.sql(f"SELECT year, month, day, count(*), sum(o.totalCost::{MONEY}) "
                      f"FROM ({observations}) GROUP BY ALL ORDER BY ALL").fetchall()

    # Then it finds exactly what was sent
    assert by_model == expected_by_model()
    assert by_day == expected_by_day()


@dataclass(frozen=True)
class BatchFiles:
    prefix: str
    source: str
    columns: tuple[str, str, str]
    """Input tokens, output tokens, total cost."""
    partition: str


BATCH_FILES = {
    "jsonl.gz": BatchFiles("jsonl", "read_json('s3://{bucket}/jsonl/*/*/*.jsonl.gz', hive_partitioning = true)",
                           ("usage.input", "usage.output", "estimated_cost.total"), "date::VARCHAR, hour::INT"),
    "parquet": BatchFiles("parquet", "read_parquet('s3://{bucket}/parquet/*/*/*/*.parquet', hive_partitioning = true)",
                          ("input_tokens", "output_tokens", "cost_total"), "year::INT, month::INT, day::INT"),
}


@pytest.mark.parametrize("fmt", sorted(BATCH_FILES))
def test_duckdb_sums_batch_files_per_model_and_per_hive_partition(
    lake: duckdb.DuckDBPyConnection, s3: stack.SeaweedFS, bucket: str, fmt: str
) -> None:
    # Given batch files under Hive folders of the export time (jsonl.gz: date=/hour=, parquet: year=/month=/day=)
    files = BATCH_FILES[fmt]
    source, (tokens_in, tokens_out, cost) = files.source.format(bucket=bucket), files.columns

    # When DuckDB sums tokens and cost per model and per partition
    by_model = lake.sql(f"SELECT model, count(*), sum({tokens_in}), sum({tokens_out}), sum({cost}::{MONEY}) "
                        f"FROM {source} GROUP BY ALL ORDER BY ALL").fetchall()
    by_partition = lake.sql(f"SELECT {files.partition}, count(*), sum({cost}::{MONEY}) "
                            f"FROM {source} GROUP BY ALL ORDER BY ALL").fetchall()

    # Then it finds exactly what was sent, and per folder exactly what that folder's files hold
    assert by_model == expected_by_model()
    assert by_partition == expected_by_file_partition(s3, bucket, files.prefix, cost)
    assert sum(row[-2] for row in by_partition) == TRACES


def test_duckdb_sums_parquet_per_day_of_the_traces_timestamp(lake: duckdb.DuckDBPyConnection, bucket: str) -> None:
    source = BATCH_FILES["parquet"].source.format(bucket=bucket)

    by_day = lake.sql(f"SELECT year(timestamp), month(timestamp), day(timestamp), count(*), "
                      f"sum(cost_total::{MONEY}) FROM {source} GROUP BY ALL ORDER BY ALL").fetchall()

    assert by_day == expected_by_day()


def test_parquet_columns_have_one_type_in_every_file_and_nulls_where_a_trace_lacks_a_value(
    lake: duckdb.DuckDBPyConnection, bucket: str
) -> None:
    source = BATCH_FILES["parquet"].source.format(bucket=bucket)

    types = dict(lake.sql(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall())
    missing = lake.sql(f"SELECT count(*) FROM {source} WHERE cost_total IS NULL AND input_tokens IS NULL "
                       f"AND request IS NULL").fetchone()

    assert types["timestamp"] == "TIMESTAMP WITH TIME ZONE" and types["id"] == "BIGINT"
    assert types["cost_total"] == "DOUBLE" and types["input_tokens"] == "BIGINT"
    assert missing == (sum(1 for trace in SENT if "cost" not in trace),)


def test_a_template_with_other_punctuation_is_still_refused_naming_the_field(
    admin: stack.Admin, workspace: str, s3: stack.SeaweedFS, bucket: str
) -> None:
    body = stack.s3_body(s3, bucket, path_template="{prefix}/year={year}&month={month}")

    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=body)

    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "path_template" in message and "'=' and '/'" in message
