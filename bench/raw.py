"""The S3 server's own limit: the objects tracedrop writes, PUT straight from a client with no tracedrop in between.

Every round writes new keys (as a drain does) with the document a bench trace becomes (bench/workload.py)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

from bench.lean_put import AsyncPut
from bench.workload import cpu_seconds, document
from tests import stack

BODY = document()
"""A bench trace's object, about 8 KB."""


def boto3_client(store: stack.SeaweedFS, *, pool: int) -> Any:
    """A boto3 client with boto3's defaults (as a user's script would have), ``pool`` connections kept."""
    return boto3.client("s3", endpoint_url=store.endpoint, region_name="us-east-1",
                        aws_access_key_id=stack.ADMIN_KEY, aws_secret_access_key=store.secret(),
                        config=Config(request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required",
                                      retries={"max_attempts": 1}, max_pool_connections=pool))


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def raw_boto3(store: stack.SeaweedFS, bucket: str, count: int, *, threads: int = 16) -> dict[str, float]:
    """PUT/s of ``count`` BODY objects from ``threads`` threads sharing one boto3 client; CPU per PUT."""
    client = boto3_client(store, pool=threads)
    round_id = uuid.uuid4().hex
    client.put_object(Bucket=bucket, Key="warm-up", Body=BODY)
    own, server = _own_cpu(), cpu_seconds(store)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"boto3/{round_id}/{i}.json", Body=BODY),
                      range(count)))
    elapsed = time.perf_counter() - started
    return {"per_s": count / elapsed, "client_cpu_us": (_own_cpu() - own) / count * 1e6,
            "seaweedfs_cpu_us": (cpu_seconds(store) - server) / count * 1e6}


def raw_async(store: stack.SeaweedFS, bucket: str, count: int, *, limit: int = 64) -> dict[str, float]:
    """PUT/s with aiohttp at ``limit`` requests in flight, each signed by botocore's SigV4 signer; CPU per PUT."""
    round_id = uuid.uuid4().hex

    async def run() -> dict[str, float]:
        client = AsyncPut(store.endpoint, stack.ADMIN_KEY, store.secret(), limit=limit)
        await client.open()
        try:
            await client.put(bucket, "warm-up", BODY)
            own, server = _own_cpu(), cpu_seconds(store)
            started = time.perf_counter()
            await asyncio.gather(*(client.put(bucket, f"async/{round_id}/{i}.json", BODY) for i in range(count)))
            elapsed = time.perf_counter() - started
        finally:
            await client.close()
        return {"per_s": count / elapsed, "client_cpu_us": (_own_cpu() - own) / count * 1e6,
                "seaweedfs_cpu_us": (cpu_seconds(store) - server) / count * 1e6}

    return asyncio.run(run())
