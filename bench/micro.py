"""The worker's per-trace CPU, piece by piece, without the network: ``python -m bench.micro``.

Times, single-threaded and in-process, each step a delivered trace costs the worker: reading the stored body
(orjson), building the document, rendering the key (time values + sandboxed Jinja), encoding the object (orjson),
and boto3's whole PutObject pipeline (parameter validation, serialisation, endpoint rules, user agent, SigV4,
hooks) with the HTTP exchange replaced by a canned 200, next to botocore's SigV4 signer alone. Needs no stack.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import boto3
import orjson
from botocore.awsrequest import AWSResponse
from botocore.credentials import Credentials

from bench.lean_put import signed_headers
from bench.workload import trace
from worker.document import build_document
from worker.kinds.s3.client import client_config
from worker.kinds.s3.config import S3Destination as Destination
from worker.kinds.s3.writer import object_key, render_object
from worker.paths import time_values
from worker.trace import TraceIn, stored_form


def per_call_us(work: Callable[[], Any], *, seconds: float = 0.5) -> float:
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(50):
            work()
        calls += 50
    return (time.perf_counter() - started) / calls * 1e6


class _Raw:
    def stream(self, **kwargs: Any) -> Any:
        yield b""


def canned_client() -> Any:
    """A boto3 client with delivery's settings whose requests never leave the process: every send gets a 200."""
    client = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="s" * 40).client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9", config=client_config("http://127.0.0.1:9"))

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"ETag": '"abc"'}, _Raw())

    client.meta.events.register("before-send.s3", answer)
    return client


def main() -> None:
    stored = stored_form(TraceIn.model_validate(trace(1)))
    body = orjson.dumps(stored)
    destination = Destination.model_validate({
        "id": "d", "workspace": "w", "created_at": "2026-11-22T10:00:00Z", "name": "n", "type": "s3",
        "bucket_name": "bucket", "region": "us-east-1", "access_key_id": "a", "access_secret": "s"})
    template = destination.template()
    document = build_document(stored, privacy_mode=False)
    _, data = render_object(destination, template, body)
    client = canned_client()
    credentials = Credentials("AKIDEXAMPLE", "s" * 40)

    @lru_cache(maxsize=1024)
    def cached_path(hour: int, api_key_name: str) -> str:
        values = time_values(hour * 3_600_000)
        values["apiKeyName"] = api_key_name
        return template.render(values)

    rows = [
        ("orjson.loads of the stored trace", lambda: orjson.loads(body)),
        ("build_document", lambda: build_document(stored, privacy_mode=False)),
        ("object_key (time_values + Jinja render)", lambda: object_key(template, stored)),
        ("  of which time_values (5 x strftime)", lambda: time_values(stored["timestamp"])),
        ("  the same key, path cached per (hour, apiKeyName)",
         lambda: f"{cached_path(stored['timestamp'] // 3_600_000, 'bench')}/{stored['id']}.json"),
        ("orjson.dumps of the document", lambda: orjson.dumps(document)),
        ("render_object (all of the above)", lambda: render_object(destination, template, body)),
        ("destination.template() (once per claimed batch)", destination.template),
        ("boto3 put_object, HTTP replaced by a canned 200",
         lambda: client.put_object(Bucket="bucket", Key="k/x.json", Body=data, ContentType="application/json")),
        ("botocore SigV4 signer alone (payload sha256 incl.)",
         lambda: signed_headers(credentials, "us-east-1", "http://127.0.0.1:9/bucket/k/x.json", data)),
    ]
    print(f"stored trace {len(body)} bytes, object {len(data)} bytes; microseconds per call, one thread:")
    for name, work in rows:
        print(f"  {per_call_us(work):8.1f}  {name}")


if __name__ == "__main__":
    main()
