"""`make demo`: a private stack on loopback, configured through the HTTP API, fed ~20 traces, objects shown.

Starts redis-server and SeaweedFS on free ports, the tracedrop api and a worker (no beat: the worker runs the
heartbeat); creates a workspace, an ingest key, two per-trace destinations (one in privacy mode), two batch
destinations (zstd CBOR, and Parquet under Hive partitions) and a signed webhook to a receiver on loopback through
the admin API; posts varied sample traces as a gateway would, and one as OpenRouter's Webhook sends it (OTLP/JSON);
waits for every object, batch file and webhook request; prints the keys, one object, one record of each batch
format and what the receiver verified; stops everything.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests import stack
from tests.postgres import SUPERUSER, PostgreSQL, postgresql
from tests.receiver import delivered_ids, new_secret, start_receiver, webhook

MODELS = [
    ("openai/gpt-4o", "OpenAI", "oai_completions"),
    ("anthropic/claude-sonnet-4", "Anthropic", "ant_messages"),
    ("google/gemini-2.5-pro", "Google", "oai_completions"),
    ("meta-llama/llama-3.3-70b", "Together", "oai_completions"),
]
KEYS = ["prod backend", "staging", None, "batch jobs"]


def sample_traces(count: int = 20) -> list[dict[str, Any]]:
    """Varied traces: chat and Anthropic shapes, errors, custom metadata, with and without users and keys."""
    traces = []
    for i in range(count):
        model, provider, api_type = MODELS[i % len(MODELS)]
        prompt = f"Question {i}: what is {i} squared?"
        trace: dict[str, Any] = {
            "id": f"gen-demo-{i:03d}",
            "timestamp": f"2026-11-{20 + i % 3:02d}T{8 + i % 10:02d}:15:{i:02d}Z",
            "model": model, "provider": provider, "api_type": api_type, "path": "/v1/chat/completions",
            "status_code": 429 if i % 9 == 8 else 200, "finish_reason": "stop",
            "duration_ms": 400 + 37 * i, "time_to_first_token_ms": 80 + 5 * i,
            "usage": {"prompt_tokens": 12 + i, "completion_tokens": 30 + 2 * i, "total_tokens": 42 + 3 * i},
            "cost": {"input": 0.00001 * (12 + i), "output": 0.00003 * (30 + 2 * i)},
            "trace": {"trace_name": "support-bot" if i % 2 else "tutor", "env": "demo", "team": f"team-{i % 3}"},
            "request": {"model": model, "messages": [{"role": "user", "content": prompt}], "temperature": 0.2},
            "response": {"choices": [{"message": {"role": "assistant", "content": f"{i * i}."},
                                      "finish_reason": "stop"}]},
            "identity": {"login_name": f"user{i % 4}@example.com", "node_id": f"node{i % 2}", "tags": ["tag:demo"]},
            "headers": {"request": {"content-type": "application/json", "authorization": "Bearer never-stored"}},
        }
        if KEYS[i % len(KEYS)]:
            trace["api_key_name"] = KEYS[i % len(KEYS)]
        if i % 3:
            trace["user"] = f"user-{i % 5}"
            trace["session_id"] = f"sess-{i % 4}"
        traces.append(trace)
    return traces


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run(workdir: Path) -> None:
    services: list[stack.Service] = []
    receiver = start_receiver()
    database: PostgreSQL | None = None
    try:
        say("starting a private redis-server, SeaweedFS and PostgreSQL on free loopback ports")
        redis = stack.redis_server(workdir)
        services.append(redis)
        store = stack.seaweedfs(workdir)
        services.append(store)
        store.client().create_bucket(Bucket="llm-traces")
        database = postgresql()
        print(f"redis {redis.url}   s3 {store.endpoint}   postgresql 127.0.0.1:{database.port}")

        say("starting tracedrop api and a worker (no beat: the worker runs the heartbeat itself)")
        env = stack.tracedrop_env(redis.url)
        api = stack.api(workdir, env)
        services += [api, stack.worker(workdir, env, name="demo")]
        print(f"api {api.url}")

        say("configuring through the admin API")
        admin = stack.Admin(api.url)
        admin.workspace("acme")
        key = admin.ingest_key("acme", "gateway")
        print(f"workspace acme, ingest key {key[:8]}... (shown once, stored only as a hash)")
        full = admin.destination("acme", stack.s3_body(store, "llm-traces", name="archive", prefix="full",
                                                       path_template="{prefix}/{date}/{apiKeyName}"))
        private = admin.destination("acme", stack.s3_body(store, "llm-traces", name="private", prefix="private",
                                                          privacy_mode=True))
        print(orjson.dumps(full, option=orjson.OPT_INDENT_2).decode())
        print(f"second destination {private['id']}: privacy_mode={private['privacy_mode']}")
        batch = admin.destination("acme", stack.s3_body(store, "llm-traces", name="batch", prefix="batch",
                                                        mode="batch", every=2, limit=8))
        print(f"third destination {batch['id']}: mode=batch every={batch['every']}s limit={batch['limit']} "
              f"format={batch['format']}")
        lake = admin.destination("acme", stack.s3_body(
            store, "llm-traces", name="lake", prefix="lake", mode="batch", every=2, format="parquet",
            path_template="{prefix}/year={year}/month={month}/day={day}"))
        print(f"fifth destination {lake['id']}: mode=batch format={lake['format']} path_template="
              f"{lake['path_template']} (Hive partitions, for DuckDB, Athena, Spark: docs/lake.md)")
        secret = new_secret()
        hook = admin.destination("acme", webhook(receiver, name="events", format="json", batch_size=5,
                                                 signing_secret=secret, headers={"Authorization": "Bearer demo"}))
        print(f"fourth destination {hook['id']}: webhook to {hook['url']} format={hook['format']} "
              f"batch_size={hook['batch_size']} headers={hook['headers']} signing_secret={hook['signing_secret']}")
        table = admin.destination("acme", {
            "name": "warehouse", "type": "postgres", "host": "127.0.0.1", "port": database.port,
            "database": "postgres", "user": SUPERUSER, "password": database.password, "table": "llm.traces",
            "create_table": True})
        print(f"sixth destination {table['id']}: PostgreSQL table {table['table']} (created by its connection test, "
              f"one row per trace: docs/postgres.md) password={table['password']}")
        [test] = receiver.requests
        print(f"its connection test: {test.method} {test.path} body={test.body.decode()} "
              f"X-Test-Connection={test.headers['x-test-connection']} webhook-id={test.headers['webhook-id']}")

        say("posting 20 traces as a gateway would")
        traces = sample_traces()
        ingest = httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        answer = ingest.post("/v1/traces", json={"traces": traces[:15]})
        print(f"POST /v1/traces (15 in one request) -> {answer.status_code} {answer.text}")
        for trace in traces[15:]:
            answer = ingest.post("/v1/traces", json=trace)
            print(f"POST /v1/traces ({trace['id']}) -> {answer.status_code} {answer.text}")

        say("posting as OpenRouter's Webhook destination would: its Test Connection, then one OTLP/JSON trace")
        tested = ingest.post("/v1/traces", json={"resourceSpans": []}, headers={"X-Test-Connection": "true"})
        print(f"POST /v1/traces (X-Test-Connection: true) -> {tested.status_code} {tested.text}")
        otlp = (Path(__file__).parent / "fixtures" / "openrouter_webhook.json").read_bytes()
        answer = ingest.post("/v1/traces", content=otlp, headers={"content-type": "application/json"})
        print(f"POST /v1/traces (OTLP/JSON, 1 span) -> {answer.status_code} {answer.text}")

        say("waiting for the objects")
        expected = 2 * (len(traces) + 1)
        deadline = time.monotonic() + 120
        while (len(keys := [k for k in store.keys("llm-traces") if k.startswith(("full/", "private/"))]) < expected
               or any(admin.status("acme", d["id"])["delivered"] < len(traces) + 1 for d in (batch, lake))):
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(keys)} of {expected} objects after 120 s")
            time.sleep(0.3)
        for key_name in sorted(keys):
            print(key_name)
        print(f"{len(keys)} objects written for {len(traces) + 1} traces and 2 per-trace destinations")
        batch_keys = sorted(store.keys("llm-traces", "batch/"))
        for key_name in batch_keys:
            print(key_name)
        print(f"{len(batch_keys)} batch files (zstd CBOR, at most 8 records each) for the batch destination")
        lake_keys = sorted(store.keys("llm-traces", "lake/"))
        for key_name in lake_keys:
            print(key_name)
        print(f"{len(lake_keys)} Parquet files for the lake destination")

        say("what the webhook receiver got (each request verified with the standardwebhooks library)")
        deadline = time.monotonic() + 60
        while len(delivered_ids(receiver, secret)) < len(traces) + 1:
            if time.monotonic() > deadline:
                raise SystemExit("the webhook did not receive every trace within 60 s")
            time.sleep(0.3)
        for request in receiver.accepted():
            documents = orjson.loads(request.body)
            print(f"{request.method} {request.path} webhook-id={request.headers['webhook-id']} "
                  f"{len(documents)} traces: {', '.join(d['id'] for d in documents)}")
        print(f"{len(delivered_ids(receiver, secret))} traces in {len(receiver.accepted())} signed requests")

        say("one object, pretty-printed")
        sample = sorted(k for k in keys if k.startswith("full/"))[0]
        body = store.client().get_object(Bucket="llm-traces", Key=sample)["Body"].read()
        print(sample)
        print(orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode())
        private_sample = "private/" + sample.split("/", 2)[1] + "/" + sample.rsplit("/", 1)[1]
        private_body = orjson.loads(store.client().get_object(Bucket="llm-traces", Key=private_sample)["Body"].read())
        print(f"{private_sample}: privacy mode keeps {sorted(private_body)} (no input/output)")

        say("first record of a batch file, as `tracedrop read` prints it")
        from worker.reader import json_lines

        data = store.client().get_object(Bucket="llm-traces", Key=batch_keys[0])["Body"].read()
        print(batch_keys[0])
        print(orjson.dumps(orjson.loads(next(json_lines(data))), option=orjson.OPT_INDENT_2).decode())

        say("first record of a Parquet file, as `tracedrop read` prints it")
        data = store.client().get_object(Bucket="llm-traces", Key=lake_keys[0])["Body"].read()
        print(lake_keys[0])
        print(orjson.dumps(orjson.loads(next(json_lines(data))), option=orjson.OPT_INDENT_2).decode())

        say("the PostgreSQL table: spend per model, in SQL")
        deadline = time.monotonic() + 60
        while admin.status("acme", table["id"])["delivered"] < len(traces) + 1:
            if time.monotonic() > deadline:
                raise SystemExit("the PostgreSQL table did not get every trace within 60 s")
            time.sleep(0.3)
        query = ("SELECT model, count(*), sum(input_tokens), sum(output_tokens), "
                 "round(sum(cost_input + cost_output)::numeric, 6) AS cost "
                 "FROM llm.traces GROUP BY model ORDER BY model")
        print(query)
        for found in database.sql(query):
            print("  ".join(str(value) for value in found))

        say("destination status")
        for destination in (full, private, batch, lake, hook, table):
            print(orjson.dumps(admin.status("acme", destination["id"])).decode())
    finally:
        say("stopping everything the demo started")
        receiver.stop()
        if database is not None:
            database.remove()
        for service in reversed(services):
            service.stop()


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tracedrop-demo-"))
    try:
        run(workdir)
    except Exception as exc:
        print(f"demo failed: {exc}; logs in {workdir}", file=sys.stderr)
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    print("\ndemo finished: every service stopped")


if __name__ == "__main__":
    main()
